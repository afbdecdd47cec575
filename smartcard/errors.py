"""Every way card access can fail, each its own type with a message in Japanese and English.

Nothing half-read leaks out of an error: services raise these after discarding partial data.
"""

from __future__ import annotations

from yoshin.domain.i18n import Bilingual, BilingualError


class CardError(BilingualError):
    """Base of all card-layer errors."""


class NoReaderError(CardError):
    def __init__(self, detail: str = "") -> None:
        super().__init__(
            Bilingual(
                ja="カードリーダーが見つかりません。係員にお知らせください",
                en=f"No card reader found. Please tell a staff member.{f' ({detail})' if detail else ''}",
            )
        )


class ReaderLostError(NoReaderError):
    """The reader (or pcscd) went away during use: what a USB unplug looks like to PC/SC. Recoverable: the
    same reader works again once it is plugged back (and pcscd lists it), with a new context."""

    def __init__(self, detail: str = "") -> None:
        BilingualError.__init__(
            self,
            Bilingual(
                ja="カードリーダーの接続が切れました。ケーブルを確認してください。接続し直すと続けられます",
                en="The card reader was disconnected. Check its cable; it can be used again once reconnected"
                + (f" ({detail})" if detail else ""),
            ),
        )


class ReaderChoiceError(NoReaderError):
    """Several readers are attached and none is configured (or the configured one is not among them)."""

    def __init__(self, names: list[str], wanted: str | None = None) -> None:
        self.names = list(names)
        listed = ", ".join(f"{index}: {name}" for index, name in enumerate(names))
        if wanted is None:
            text = Bilingual(
                ja=f"カードリーダーが複数接続されています。使うリーダーを名前か番号で設定してください ({listed})",
                en=f"Several card readers are attached. Configure which one to use, by name or number ({listed})",
            )
        else:
            text = Bilingual(
                ja=f"設定されたカードリーダー「{wanted}」が見つかりません。接続中: {listed or 'なし'}",
                en=f"The configured card reader {wanted!r} is not attached. Attached: {listed or 'none'}",
            )
        BilingualError.__init__(self, text)


class NoCardError(CardError):
    def __init__(self) -> None:
        super().__init__(Bilingual(ja="カードが挿入されていません", en="No card in the reader"))


class CardRemovedError(CardError):
    def __init__(self) -> None:
        super().__init__(
            Bilingual(
                ja="カードが取り出されました。もう一度カードを置いてください",
                en="The card was removed. Please insert it again",
            )
        )


class NotMyNumberCardError(CardError):
    def __init__(self, kind: str = "unknown") -> None:
        self.kind = kind
        if kind == "juki":
            text = Bilingual(
                ja="住民基本台帳カードはご利用になれません。マイナンバーカードを置いてください",
                en="A Basic Resident Register card cannot be used. Please use your My Number card",
            )
        else:
            text = Bilingual(
                ja="マイナンバーカードではありません。マイナンバーカードを置いてください",
                en="This is not a My Number card. Please use your My Number card",
            )
        super().__init__(text)


class ReaderBusyError(CardError):
    def __init__(self) -> None:
        super().__init__(
            Bilingual(
                ja="カードリーダーが他の処理で使用中です。しばらくしてからお試しください",
                en="The card reader is in use by another process. Please try again shortly",
            )
        )


class PinFormatError(CardError):
    def __init__(self) -> None:
        super().__init__(Bilingual(ja="暗証番号は数字4桁で入力してください", en="The PIN must be exactly 4 digits"))


class WrongPinError(CardError):
    def __init__(self, tries_left: int) -> None:
        self.tries_left = tries_left
        super().__init__(
            Bilingual(
                ja=f"暗証番号が違います。残り{tries_left}回です",
                en=f"Wrong PIN. {tries_left} {'try' if tries_left == 1 else 'tries'} left",
            )
        )


class PinBlockedError(CardError):
    def __init__(self) -> None:
        super().__init__(
            Bilingual(
                ja="暗証番号がロックされています。お住まいの市区町村の窓口で暗証番号の再設定を行ってください",
                en="The PIN is blocked. Please reset it at your municipal office",
            )
        )


class LastTryConfirmationRequired(CardError):
    """Exactly one try is left: the caller must confirm explicitly before the attempt is made."""

    def __init__(self) -> None:
        self.tries_left = 1
        super().__init__(
            Bilingual(
                ja="残り1回です。間違えるとロックされ、市区町村の窓口での手続きが必要になります",
                en="Only 1 try left. A wrong PIN blocks the card until it is reset at the municipal office",
            )
        )


class UnexpectedStatusError(CardError):
    def __init__(self, sw: int, context: str) -> None:
        self.sw = sw
        super().__init__(
            Bilingual(
                ja=f"カードから予期しない応答がありました ({sw:04X})。係員にお知らせください",
                en=f"Unexpected answer from the card ({sw:04X} during {context}). Please tell a staff member",
            )
        )


class CardDataError(CardError):
    """Card data that does not parse or is inconsistent."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            Bilingual(
                ja="カードの情報を読み取れませんでした。係員にお知らせください",
                en=f"The card data could not be read ({detail}). Please tell a staff member",
            )
        )


class VirtualReaderRefused(CardError):
    def __init__(self, name: str) -> None:
        super().__init__(
            Bilingual(
                ja="本番環境では仮想カードリーダーは使用できません",
                en=f"Production mode refuses the virtual reader {name!r}",
            )
        )


class ReaderError(CardError):
    """A PC/SC error none of the specific types covers."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(
            Bilingual(
                ja=f"カードリーダーでエラーが発生しました ({code:08X})。係員にお知らせください",
                en=f"The card reader reported an error ({code:08X}). Please tell a staff member",
            )
        )
