"""The appliance's errors a person may read, in a module of their own: the kiosk's process raises and
catches them without loading the host client (ssl, cryptography) or the key store that raise them in the
appliance agent (docs/ARCHITECTURE.md, "The appliance agent")."""

from __future__ import annotations

from typing import Any

from yoshin.domain.i18n import Bilingual, BilingualError


class HostUnreachable(BilingualError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            Bilingual(ja="ホストに接続できません (オフライン)", en=f"The host cannot be reached (offline): {detail}")
        )


class DeviceRevoked(BilingualError):
    def __init__(self) -> None:
        super().__init__(
            Bilingual(
                ja="この端末は失効しています。技術担当者に連絡してください",
                en="This device has been revoked. Please contact the technician",
            )
        )


class HostRefused(BilingualError):
    def __init__(self, status: int, body: dict[str, Any], retry_after: float | None = None) -> None:
        self.status = status
        self.body = body
        self.retry_after = retry_after  # seconds, from a 503's Retry-After
        super().__init__(
            Bilingual(
                ja=str(body.get("message_ja", "ホストが要求を拒否しました")),
                en=str(body.get("message_en", f"HTTP {status}")),
            )
        )


class KeyStoreError(BilingualError):
    def __init__(self, en: str) -> None:
        super().__init__(Bilingual(ja="端末の鍵情報に問題があります。技術担当者に連絡してください", en=en))


class AgentUnavailable(BilingualError):
    """The kiosk cannot reach the appliance agent (its socket is gone, or it did not answer)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            Bilingual(
                ja="端末の内部サービスに接続できません。係員にお知らせください",
                en=f"The appliance's service cannot be reached. Please tell a member of staff ({detail})",
            )
        )
