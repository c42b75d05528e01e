"""ORM models. Importing this package registers every table on ``Base.metadata``."""

from app.models.post import Post
from app.models.token import RefreshToken, RevokedAccessToken, TokenFamily
from app.models.user import User

__all__ = ["Post", "RefreshToken", "RevokedAccessToken", "TokenFamily", "User"]
