"""One OpenAI-compatible streaming client: request bodies, SSE parsing, timing marks.

Public surface: :class:`OpenAIClient`, :class:`ChatOrCompletionRequest` (what to send) and
:class:`Response` (what one request did, for perf and eval alike).
"""

from assay.client.openai import ChatOrCompletionRequest, OpenAIClient, endpoint_kind
from assay.client.response import Response

__all__ = ["ChatOrCompletionRequest", "OpenAIClient", "Response", "endpoint_kind"]
