"""The admin classes every operations app shares (records.py); each nested app registers its own models' admins in
its ``admin`` module, which Django's admin finds by itself."""
