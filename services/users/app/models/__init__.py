"""ORM models. Importing this package registers every table on ``Base.metadata``."""

from app.models.account_token import AccountToken, TokenPurpose
from app.models.post import Post
from app.models.token import RefreshToken, RevokedAccessToken, TokenFamily
from app.models.user import User

__all__ = ["AccountToken", "Post", "RefreshToken", "RevokedAccessToken", "TokenFamily", "TokenPurpose", "User"]
