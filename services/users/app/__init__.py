"""Users service: registration, authentication, profiles, posts and notifications."""
