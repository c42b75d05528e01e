"""In-memory repositories for unit tests of the services (no database, no I/O).

They keep the rules the SQL adapters get from PostgreSQL: ids are assigned on create, email and
username are unique regardless of letter case, lists are newest first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from app.exceptions import UserAlreadyExistsError
from app.models.account_token import AccountToken, TokenPurpose
from app.models.post import Post
from app.models.token import RefreshToken, TokenFamily
from app.models.user import User
from app.repositories.account_token_repository import AccountTokenRepositoryPort
from app.repositories.post_repository import PostRepositoryPort
from app.repositories.token_queries import SignedInUser, SignedInUsers
from app.repositories.token_repository import TokenRepositoryPort
from app.repositories.user_repository import UserRepositoryPort
from app.services.notifier import Notifier
from app.unit_of_work import UnitOfWork

#: Password guesses per account that the unit tests' login throttle allows.
ACCOUNT_GUESSES = 3


class FakeUserRepository:
    """Users in a dict. ``create`` and ``update`` enforce case-insensitive uniqueness."""

    def __init__(self, users: Iterable[User] = ()) -> None:
        self.users: dict[int, User] = {}
        self._next_id = 1
        for user in users:
            self._store(user)

    def _store(self, user: User) -> User:
        if not user.id:
            user.id = self._next_id
        self._next_id = max(self._next_id, user.id + 1)
        now = datetime.now(UTC)
        user.created_at = user.created_at or now
        user.updated_at = user.updated_at or now
        user.is_active = True if user.is_active is None else user.is_active
        user.is_verified = False if user.is_verified is None else user.is_verified
        user.is_superuser = False if user.is_superuser is None else user.is_superuser
        self.users[user.id] = user
        return user

    def _check_unique(self, user: User) -> None:
        for other in self.users.values():
            if other is user or other.id == user.id:
                continue
            if other.email.lower() == user.email.lower() or other.username.lower() == user.username.lower():
                raise UserAlreadyExistsError

    async def create(self, user: User) -> User:
        self._check_unique(user)
        return self._store(user)

    async def get_by_id(self, user_id: int) -> User | None:
        return self.users.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        return next((user for user in self.users.values() if user.email.lower() == email.lower()), None)

    async def update(self, user: User) -> User:
        self._check_unique(user)
        user.updated_at = datetime.now(UTC)
        return user

    async def get_for_update(self, user_id: int) -> User | None:
        return self.users.get(user_id)  # one caller at a time: nothing to lock

    async def get_for_share(self, user_id: int) -> User | None:
        return self.users.get(user_id)

    async def delete(self, user: User) -> None:
        del self.users[user.id]

    async def list_users(
        self, *, email_prefix: str | None, is_active: bool | None, limit: int, offset: int
    ) -> Sequence[User]:
        chosen = [
            user
            for user in sorted(self.users.values(), key=lambda user: user.id)
            if (email_prefix is None or user.email.lower().startswith(email_prefix.lower()))
            and (is_active is None or user.is_active is is_active)
        ]
        return chosen[offset : offset + limit]

    async def has_superuser(self) -> bool:
        return any(user.is_superuser for user in self.users.values())


class FakePostRepository:
    """Posts in a dict, listed newest (highest id) first. With ``users``, a deactivated author's
    posts are hidden as the SQL adapter's join hides them; without, every author is active."""

    def __init__(self, users: FakeUserRepository | None = None) -> None:
        self.posts: dict[int, Post] = {}
        self._next_id = 1
        self._users = users

    def _author_active(self, post: Post) -> bool:
        if self._users is None:
            return True
        author = self._users.users.get(post.user_id)
        return author is not None and author.is_active is not False

    async def create(self, post: Post) -> Post:
        post.id = self._next_id
        self._next_id += 1
        post.published = bool(post.published)
        post.created_at = post.updated_at = datetime.now(UTC)
        self.posts[post.id] = post
        return post

    async def get_by_id(self, post_id: int) -> Post | None:
        return self.posts.get(post_id)

    async def get_if_author_active(self, post_id: int) -> Post | None:
        post = self.posts.get(post_id)
        return post if post is not None and self._author_active(post) else None

    async def get_for_update(self, post_id: int) -> Post | None:
        return self.posts.get(post_id)  # one caller at a time: nothing to lock

    async def update(self, post: Post) -> Post:
        post.updated_at = datetime.now(UTC)
        return post

    async def delete(self, post: Post) -> None:
        del self.posts[post.id]

    def _newest_first(self, posts: Iterable[Post], limit: int, offset: int) -> Sequence[Post]:
        return sorted(posts, key=lambda post: post.id, reverse=True)[offset : offset + limit]

    async def list_by_user(self, user_id: int, *, include_drafts: bool, limit: int, offset: int) -> Sequence[Post]:
        mine = (post for post in self.posts.values() if post.user_id == user_id and (include_drafts or post.published))
        return self._newest_first(mine, limit, offset)


class FakeTokenRepository:
    """Token families, refresh tokens (by digest) and revoked access tokens in dicts.

    It is also the access-token check (``SignedInUsers``): ``signed_in_user`` asks ``users``, as
    the read side's SELECT joins the users table.
    """

    def __init__(self, users: FakeUserRepository) -> None:
        self._users = users
        self.families: dict[uuid.UUID, TokenFamily] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.revoked_jtis: dict[uuid.UUID, datetime] = {}

    async def create_family(self, user_id: int, expires_at: datetime) -> TokenFamily:
        family = TokenFamily(id=uuid.uuid4(), user_id=user_id, expires_at=expires_at, revoked_at=None)
        self.families[family.id] = family
        return family

    async def add_refresh_token(self, family_id: uuid.UUID, token_hash: str, expires_at: datetime) -> None:
        if token_hash in self.refresh_tokens:
            msg = "refresh token digests are unique"
            raise AssertionError(msg)
        self.refresh_tokens[token_hash] = RefreshToken(
            id=uuid.uuid4(), family_id=family_id, token_hash=token_hash, expires_at=expires_at, used_at=None
        )

    async def get_for_rotation(self, token_hash: str) -> tuple[RefreshToken, TokenFamily] | None:
        token = self.refresh_tokens.get(token_hash)
        return (token, self.families[token.family_id]) if token is not None else None

    async def mark_used(self, token: RefreshToken, used_at: datetime) -> None:
        token.used_at = used_at

    async def revoke_family(self, family_id: uuid.UUID, revoked_at: datetime) -> None:
        family = self.families.get(family_id)
        if family is not None and family.revoked_at is None:
            family.revoked_at = revoked_at

    async def revoke_other_families(self, user_id: int, keep: uuid.UUID | None, revoked_at: datetime) -> None:
        if revoked_at.utcoffset() is None:  # the port's contract: a naive time means another zone per host
            msg = "revoked_at must be timezone-aware"
            raise ValueError(msg)
        for family in self.families.values():
            if family.user_id == user_id and family.id != keep and family.revoked_at is None:
                family.revoked_at = revoked_at

    async def revoke_access_token(self, jti: uuid.UUID, expires_at: datetime) -> None:
        self.revoked_jtis.setdefault(jti, expires_at)

    async def signed_in_user(self, user_id: int, jti: uuid.UUID, family_id: uuid.UUID | None) -> SignedInUser | None:
        user = await self._users.get_by_id(user_id)
        if user is None or not user.is_active or jti in self.revoked_jtis:
            return None
        if family_id is not None:
            family = self.families.get(family_id)
            if family is None or family.user_id != user_id or family.revoked_at is not None:
                return None
        return SignedInUser(*(getattr(user, column) for column in SignedInUser._fields))

    def live_families(self, user_id: int) -> set[uuid.UUID]:
        return {f.id for f in self.families.values() if f.user_id == user_id and f.revoked_at is None}


class FakeAccountTokenRepository:
    """Single-use tokens by (user, purpose), as the table's primary key keeps them: one per purpose."""

    def __init__(self) -> None:
        self.tokens: dict[tuple[int, str], AccountToken] = {}

    async def replace(
        self, user_id: int, purpose: TokenPurpose, token_hash: str, email: str, expires_at: datetime
    ) -> None:
        self.tokens[(user_id, purpose.value)] = AccountToken(
            user_id=user_id, purpose=purpose.value, token_hash=token_hash, email=email, expires_at=expires_at
        )

    async def get_for_use(self, token_hash: str, purpose: TokenPurpose) -> AccountToken | None:
        return next(
            (t for t in self.tokens.values() if t.token_hash == token_hash and t.purpose == purpose.value), None
        )

    async def discard(self, user_id: int, purpose: TokenPurpose) -> None:
        self.tokens.pop((user_id, purpose.value), None)

    def live(self, user_id: int, purpose: TokenPurpose) -> AccountToken | None:
        return self.tokens.get((user_id, purpose.value))


class FakeNotifier:
    """Records what would be emailed: (kind, address, token or None)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str | None]] = []

    def verification(self, user: User, token: str) -> None:
        self.sent.append(("verification", user.email, token))

    def password_reset(self, user: User, token: str) -> None:
        self.sent.append(("password_reset", user.email, token))

    def password_changed(self, user: User) -> None:
        self.sent.append(("password_changed", user.email, None))

    def email_changed(self, user: User, old_email: str) -> None:
        self.sent.append(("email_changed", old_email, None))

    def tokens(self, kind: str, address: str) -> list[str]:
        return [token for sent_kind, to, token in self.sent if sent_kind == kind and to == address and token]


class FakeUnitOfWork:
    """Counts commits and keeps what ``snapshot`` returned at each: what the commit made durable."""

    def __init__(self, snapshot: Callable[[], object] = lambda: None) -> None:
        self._snapshot = snapshot
        self.committed: list[object] = []

    async def commit(self) -> None:
        self.committed.append(self._snapshot())


def _conforms(
    users: FakeUserRepository, posts: FakePostRepository, tokens: FakeTokenRepository, unit_of_work: FakeUnitOfWork
) -> tuple[UserRepositoryPort, PostRepositoryPort, TokenRepositoryPort, UnitOfWork]:
    """Type-checks that the fakes implement the ports the services depend on."""
    return users, posts, tokens, unit_of_work


def _conforms_too(
    account_tokens: FakeAccountTokenRepository, notifier: FakeNotifier, tokens: FakeTokenRepository
) -> tuple[AccountTokenRepositoryPort, Notifier, SignedInUsers]:
    return account_tokens, notifier, tokens
