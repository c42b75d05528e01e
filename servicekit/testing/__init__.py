"""Test helpers every service uses alike: test databases and an app client inside a test's transaction."""
