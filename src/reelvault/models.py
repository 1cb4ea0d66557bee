"""Every model, imported in one place so Alembic and the app see the whole metadata."""

from reelvault.accounts.models import User
from reelvault.generations.models import Generation, GenerationStatus
from reelvault.storage.intents import storage_intent
from reelvault.workers.models import worker_key

__all__ = ("Generation", "GenerationStatus", "User", "storage_intent", "worker_key")
