"""Every string the kiosk shows, in Japanese and English, in one place."""

from __future__ import annotations

from yoshin.domain.i18n import Bilingual

T = {
    "title": Bilingual("予防接種 予診票", "Pre-vaccination questionnaire"),
    "choose_language": Bilingual("ことばを選んでください", "Choose your language"),
    "large_text": Bilingual("大きな文字で表示する", "Large text"),
    "start": Bilingual("はじめる", "Start"),
    "consent_title": Bilingual("ご利用にあたって", "Before you start"),
    "consent_body": Bilingual(
        "この端末は、予防接種の予診票をお住まいの市区町村へ送るために、マイナンバーカードの券面事項"
        "(氏名・住所・生年月日・性別)とマイナンバーを読み取ります。読み取った情報は暗号化して市区町村"
        "だけに送られ、この端末には残りません。マイナンバーは画面に表示されません。",
        "This kiosk reads the text on your My Number card (name, address, birth date, sex) and your My "
        "Number to send your pre-vaccination questionnaire to your municipality. What it reads is "
        "encrypted for your municipality only and does not stay on this kiosk. Your My Number is never shown.",
    ),
    "agree": Bilingual("同意する", "I agree"),
    "decline": Bilingual("同意しない", "I do not agree"),
    "insert_card": Bilingual(
        "マイナンバーカードを読み取り機に置いてください", "Place your My Number card on the reader"
    ),
    "enter_pin": Bilingual("暗証番号 (数字4桁) を入力してください", "Enter your 4-digit PIN"),
    "tries_left": Bilingual("残り{n}回", "{n} tries left"),
    "ok": Bilingual("確定", "OK"),
    "clear": Bilingual("消す", "Clear"),
    "back": Bilingual("戻る", "Back"),
    "next": Bilingual("次へ", "Next"),
    "yes": Bilingual("はい", "Yes"),
    "no": Bilingual("いいえ", "No"),
    "last_try": Bilingual(
        "残り1回です。間違えるとロックされ、市区町村の窓口での手続きが必要になります。入力しますか?",
        "Only 1 try left. A wrong PIN blocks the card until it is reset at the municipal office. Continue?",
    ),
    "reading": Bilingual("読み取っています。カードを動かさないでください", "Reading. Please do not move the card"),
    "confirm_identity": Bilingual("ご本人の確認", "Please confirm it is you"),
    "is_this_you": Bilingual("{name} さん ({birth}) でよろしいですか?", "Are you {name} (born {birth})?"),
    "choose_vaccine": Bilingual("本日受ける予防接種を選んでください", "Choose today's vaccination"),
    "offline": Bilingual("接種対象の確認ができません (オフライン)", "Eligibility not verified (offline)"),
    "nothing_due": Bilingual(
        "本日受けられる定期接種はありません。受付にお声がけください",
        "No routine vaccination is due. Please ask at reception",
    ),
    "question_progress": Bilingual("質問 {i} / {n}", "Question {i} of {n}"),
    "review": Bilingual("回答の確認", "Review your answers"),
    "submit": Bilingual("送信する", "Submit"),
    "remove_card": Bilingual("カードをお取りください", "Please take your card"),
    "thanks": Bilingual("ありがとうございました。順番にお呼びします", "Thank you. We will call you shortly"),
    "idle_warning": Bilingual(
        "操作がないため、まもなく最初の画面に戻ります", "No activity: returning to the start soon"
    ),
    "refer": Bilingual("受付の職員にお声がけください", "Please speak to the reception staff"),
}


def t(key: str, lang: str, **values: object) -> str:
    return T[key].get(lang).format(**values)
