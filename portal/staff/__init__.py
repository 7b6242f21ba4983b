"""The staff's side of the portal: their second factor (TOTP with backup codes, decision 0035)."""
