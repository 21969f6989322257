"""The postmortem: the incident's record as one document (Markdown, a page, the API).

``data.postmortem_data`` reads everything once into plain dataclasses
(``types``); ``markdown.render_markdown`` turns them into the document;
``html.markdown_to_html`` shows that same document as a page. Reads only: this
app has no models, and nothing below it (incidents, validation, runbooks,
common) imports it.
"""

from __future__ import annotations
