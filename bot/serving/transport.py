"""The HTTP session to the Bot API: aiogram's aiohttp session, with JSON request bodies
and responses read straight from JSON.

Why: aiogram posts every call as a multipart/url-encoded form, and builds a multipart
writer (a fresh random boundary, read from the OS) even for a form without files, then
serialises each nested object (a keyboard) to a JSON string inside it; the response goes
through `json.loads` and then pydantic's validation of the resulting dict. The throughput
benchmark found these at about 10 % of the CPU of an update. The Bot API takes JSON
bodies (https://core.telegram.org/bots/api#making-requests), and pydantic validates JSON
text directly, faster than dicts. Calls that upload files keep aiogram's multipart form.
"""

from __future__ import annotations

import functools
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import ClientError, ClientTimeout
from pydantic import ValidationError
from pydantic_core import to_json

if TYPE_CHECKING:
    from aiogram import Bot

_JSON_HEADERS = {"Content-Type": "application/json"}


@functools.cache
def _response_type(method: type[TelegramMethod[Any]]) -> type[Response[Any]]:
    return Response[method.__returning__]  # type: ignore[name-defined]


class JsonAiohttpSession(AiohttpSession):
    def json_body(self, bot: Bot, method: TelegramMethod[Any]) -> bytes | None:
        """The call as a JSON object, or None when it uploads a file (multipart then)."""
        files: dict[str, InputFile] = {}
        body: dict[str, Any] = {}
        # Unset fields are dropped by pydantic here rather than one by one below.
        for key, value in method.model_dump(warnings=False, exclude_none=True).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            # As aiogram's form: absent, false, zero and empty text are not sent (Telegram
            # reads a missing field as exactly that); an empty list still is.
            if prepared is None or (not prepared and not isinstance(prepared, list | dict)):
                continue
            body[key] = prepared
        if files:
            return None
        return to_json(body)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        body = self.json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=body,
                headers=_JSON_HEADERS,
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as error:
            raise TelegramNetworkError(method=method, message="Request timeout error") from error
        except ClientError as error:
            raise TelegramNetworkError(
                method=method, message=f"{type(error).__name__}: {error}"
            ) from error
        response = self.check_response(
            bot=bot, method=method, status_code=resp.status, content=raw_result
        )
        return cast(TelegramType, response.result)

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        """Successes are validated from the JSON text in one pass; anything else (an error,
        a body that does not parse) goes through aiogram's own checks, which raise the
        right exception."""
        if HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            response_type = _response_type(type(method))
            try:
                response = cast(
                    "Response[TelegramType]",
                    response_type.model_validate_json(content, context={"bot": bot}),
                )
            except ValidationError:
                pass
            else:
                if response.ok:
                    return response
        return super().check_response(
            bot=bot, method=method, status_code=status_code, content=content
        )
