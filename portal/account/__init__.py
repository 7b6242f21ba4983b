"""The signed-in shopper's account security: password and email changes, sessions and app tokens."""
