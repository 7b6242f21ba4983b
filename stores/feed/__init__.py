"""The shopper's feed: a notification the moment a door recognises them or lets them in with an entry pass,
read in the app and on the portal, and mailed when the shopper asks for it."""
