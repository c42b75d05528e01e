"""Test helpers every service uses alike: the pytest plugin of tests on real PostgreSQL
(:mod:`~servicekit.testing.plugin`) and its databases (:mod:`~servicekit.testing.databases`), an
app client running each request in a savepoint of the test's transaction
(:mod:`~servicekit.testing.app_client`), API fuzzing (:mod:`~servicekit.testing.fuzz`), live
servers (:mod:`~servicekit.testing.live_server`) and settings restored after a test
(:mod:`~servicekit.testing.settings`)."""
