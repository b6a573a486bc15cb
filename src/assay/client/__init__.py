"""One OpenAI-compatible streaming client: request bodies, SSE parsing, timing marks.

Public surface: :class:`OpenAIClient`, :class:`ChatOrCompletionRequest`, :class:`RequestRecord`.
"""

from assay.client.openai import ChatOrCompletionRequest, Completion, OpenAIClient, endpoint_kind
from assay.client.records import RECORD_SCHEMA_VERSION, RequestRecord

__all__ = ["RECORD_SCHEMA_VERSION", "ChatOrCompletionRequest", "Completion", "OpenAIClient", "RequestRecord", "endpoint_kind"]
