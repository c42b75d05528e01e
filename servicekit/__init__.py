"""What every service of the repository needs alike, written once."""
