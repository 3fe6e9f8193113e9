"""The web side (PRODUCT.md §2.7): the organisers' dashboard (a Telegram Mini App), the
public contest screens, and /metrics, on our own aiohttp server.

`mount` adds them to an application: the webhook server's (`greenhood run --webhook`), or
the one `create_web_app` makes for `greenhood web`, which serves them alone next to a
long-polling bot. No SQL here: the figures come from bot.services.dashboard and are put
into words by bot.ui.views.dashboard.

| path | who | what |
|---|---|---|
| `GET /app/` | anyone | the dashboard's page (no data in it) |
| `GET /app/api/dashboard` | organisers (init data) | the figures, as JSON |
| `POST /app/api/exports/{kind}` | organisers (init data) | a download link valid 5 minutes |
| `GET /app/exports/{kind}?token=` | the link's organiser | one of `/export`'s CSV files |
| `GET /screen/{id}-{key}` and `/data` | whoever has the address | a contest's ranking |
| `GET /static/{file}` | anyone | the pages' script and style (kept here, no CDN) |
| `GET /metrics` | the operator's Prometheus | this process's metrics |
"""

from bot.serving.web.app import WebContext, create_web_app, mount

__all__ = ["WebContext", "create_web_app", "mount"]
