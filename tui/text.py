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
    "is_this_you": Bilingual("{name} さん\n{birth}生まれ\nでよろしいですか?", "Are you {name}, born {birth}?"),
    "is_this_your_child": Bilingual(
        "お子さま: {name} さん ({birth}生まれ)\n保護者: {guardian} さん\nでよろしいですか?",
        "Child: {name}, born {birth}\nGuardian: {guardian}\nIs this right?",
    ),
    "choose_vaccine": Bilingual(
        "本日受ける予防接種を選んでください (いくつでも)", "Choose today's vaccinations (one or more)"
    ),
    "choose_one": Bilingual("受ける予防接種を1つ以上選んでください", "Choose at least one vaccination"),
    "combination": Bilingual(
        "{first} と {second} は同じ日に受けられません ({reason})",
        "{first} and {second} cannot be given on the same day ({reason})",
    ),
    "for_vaccine": Bilingual("【{name}】について", "About {name}"),
    "shared_answers": Bilingual("すべての予防接種に共通", "For every vaccination"),
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
    "idle_countdown": Bilingual(
        "あと {n} 秒で入力した内容を消去します", "What you entered will be erased in {n} seconds"
    ),
    "continue": Bilingual("続ける", "Continue"),
    "refer": Bilingual("受付の職員にお声がけください", "Please speak to the reception staff"),
    "guardian_note": Bilingual(
        "お子さまの予診票です。保護者の方がお答えください", "This is your child's questionnaire: the guardian answers"
    ),
    "guardian_note_named": Bilingual(
        "{child} さんの予診票です。保護者の {guardian} さんがお答えください",
        "This is {child}'s questionnaire: {guardian}, the guardian, answers",
    ),
    "flag_notice": Bilingual("{reason}のため、医師が判断します", "Because of {reason}, the doctor will decide"),
    "date_hint": Bilingual("年-月-日 の順に数字で (例 2026-10-01)", "Year-month-day in digits (e.g. 2026-10-01)"),
    # --- faults: shown in both languages (the resident may not have chosen one yet) ---------------------
    "reader_missing": Bilingual(
        "カードリーダーが使えません。係員にお知らせください",
        "The card reader is not available. Please tell a staff member",
    ),
    "reader_wait": Bilingual(
        "使えるようになると、自動で最初の画面に戻ります", "The kiosk returns to the start by itself once it works again"
    ),
    "card_pulled": Bilingual(
        "カードが取り出されました。入力した内容は消去しました",
        "The card was taken out. What you entered has been erased",
    ),
    "kiosk_error": Bilingual(
        "エラーが発生しました。係員にお知らせください", "Something went wrong. Please tell a staff member"
    ),
    "to_start": Bilingual("最初に戻る", "Back to the start"),
    "call_staff": Bilingual("職員を呼ぶ", "Call staff"),
    "staff_called": Bilingual("職員を呼びました。そのままお待ちください", "A staff member is coming. Please wait"),
    # --- voice guidance (tui/voice.py): spoken only, fixed sentences without fields --------------------------
    "voice_welcome": Bilingual(
        "ことばを選んで、画面のボタンを押してください", "Please choose your language on the screen"
    ),
    "voice_consent": Bilingual(
        "ご利用の説明をお読みのうえ、同意する、または、同意しない、を押してください",
        "Please read the notice, then press I agree, or I do not agree",
    ),
    "voice_pin": Bilingual(
        "カードの暗証番号、数字4桁を入力して、確定を押してください", "Enter the 4-digit PIN of your card, then press OK"
    ),
    "voice_identity": Bilingual("画面の内容をご確認ください", "Please check the details on the screen"),
    "voice_vaccine": Bilingual(
        "本日受ける予防接種を選んで、次へを押してください", "Choose today's vaccinations, then press Next"
    ),
    "voice_question": Bilingual("質問にお答えください", "Please answer the questions"),
    "voice_review": Bilingual(
        "回答をご確認のうえ、送信するを押してください", "Please check your answers, then press Submit"
    ),
    # --- staff and technician screens ------------------------------------------------------------------
    "staff": Bilingual("職員", "Staff"),
    "staff_login": Bilingual("職員ログイン", "Staff login"),
    "staff_id": Bilingual("職員ID", "Staff ID"),
    "password": Bilingual("パスワード", "Password"),
    "staff_card_pin": Bilingual("職員カードの暗証番号 (登録者のみ)", "Staff card PIN (if registered)"),
    "login": Bilingual("ログイン", "Log in"),
    "logout": Bilingual("ログアウト", "Log out"),
    "logged_in_as": Bilingual("{name} ({role}) でログイン中", "Logged in: {name} ({role})"),
    "pending": Bilingual("本日の予診票 (診察待ち)", "Today's questionnaires waiting for the doctor"),
    "no_pending": Bilingual("診察待ちの予診票はありません", "No questionnaire is waiting"),
    "queue_health": Bilingual(
        "送信待ち {depth}件 / 最古 {oldest} / 送信不能 {dead}件",
        "Queued {depth} / oldest {oldest} / dead letters {dead}",
    ),
    "queue_alarm": Bilingual("送信待ちが上限に近づいています", "The queue is nearly full"),
    "flagged": Bilingual("要確認", "check"),
    "flag_not_eligible": Bilingual("接種不可", "not eligible"),
    "flag_doctor_review": Bilingual("要医師確認", "doctor to review"),
    "offline_visit": Bilingual("対象者未確認 (オフライン受付)", "Eligibility not verified (offline)"),
    "decision": Bilingual("医師の判断", "Doctor's decision"),
    "proceed": Bilingual("接種可", "Proceed"),
    "defer": Bilingual("見合わせ", "Defer"),
    "reason": Bilingual("理由", "Reason"),
    "override_reason": Bilingual(
        "接種不可の項目があるが接種する理由", "Reason to proceed despite a not-eligible answer"
    ),
    "explained": Bilingual("効果と副反応を説明した", "Benefits/risks explained"),
    "doctor_only": Bilingual("医師の判断は医師のログインで入力してください", "A doctor must be logged in to decide"),
    "vaccination": Bilingual("接種の記録", "Vaccination entry"),
    "scan": Bilingual("バーコード (GS1) を読み取ってください", "Scan the pack's GS1 barcode"),
    "or_choose": Bilingual("または製品を選んでください", "or choose the product"),
    "lot": Bilingual("ロット番号", "Lot number"),
    "expiry": Bilingual("有効期限 (YYYY-MM-DD)", "Expiry (YYYY-MM-DD)"),
    "site": Bilingual("接種部位", "Site"),
    "expired": Bilingual(
        "有効期限が切れたロットです ({expiry})。使用できません", "This lot expired on {expiry} and must not be used"
    ),
    "unknown_gtin": Bilingual(
        "このワクチンの製品ではありません ({gtin})", "This pack is not a product of this vaccine ({gtin})"
    ),
    "bad_date": Bilingual("日付は YYYY-MM-DD で入力してください", "Enter the date as YYYY-MM-DD"),
    "need_lot": Bilingual("製品・ロット番号・有効期限・部位を入力してください", "Enter product, lot, expiry and site"),
    "second_check": Bilingual("ダブルチェック: 別の職員が確認してください", "Double check: a second person confirms"),
    "same_person": Bilingual("入力者とは別の職員が確認してください", "The checker must be another person"),
    "confirm_submit": Bilingual("確認して送信", "Confirm and submit"),
    "recorded": Bilingual("記録しました", "Recorded"),
    "dose": Bilingual("{n}回目", "dose {n}"),
    "site_left_upper_arm": Bilingual("左上腕", "left upper arm"),
    "site_right_upper_arm": Bilingual("右上腕", "right upper arm"),
    "site_left_thigh": Bilingual("左大腿", "left thigh"),
    "site_right_thigh": Bilingual("右大腿", "right thigh"),
    "site_oral": Bilingual("経口", "oral"),
    # --- technician --------------------------------------------------------------------------------------
    "technician": Bilingual("技術担当者メニュー", "Technician"),
    "self_test": Bilingual("自己診断", "Self-test"),
    "renew": Bilingual("証明書の更新", "Renew certificate"),
    "provisioning": Bilingual(
        "未設置の端末はこのアプリの最初の画面か yoshin-provision で設置します (docs/operations.md)",
        "A fresh appliance is provisioned on this app's first screen or with yoshin-provision (docs/operations.md)",
    ),
    "refresh": Bilingual("更新", "Refresh"),
    # --- JPKI link binding (finding 4): a differing 利用者証明用 PIN is never tried silently --------------
    "auth_pin_differs": Bilingual(
        "利用者証明用電子証明書の暗証番号は、入力された暗証番号と違いました。その暗証番号の残り回数が"
        "1回減り、残り{n}回です。正しい暗証番号で一度使うと3回に戻ります。この受付はこのまま進めます。",
        "Your user-authentication certificate PIN differs from the PIN you typed. One of its tries was used: "
        "{n} left. One correct use of that PIN restores all 3. You can go on with this visit.",
    ),
    # --- reception (control 4) ---------------------------------------------------------------------------
    "reception_first": Bilingual(
        "先に受付で本人確認を受けてください。確認が済むとカードを読み取ります",
        "Please have your identity checked at reception first; the card is read once that is done",
    ),
    # --- the resident's volume for the visit (tui/voice.py Loudness) ----------------------------------------
    "volume": Bilingual("音量 {level}", "Volume {level}"),
    "volume_normal": Bilingual("中", "medium"),
    "volume_loud": Bilingual("大", "loud"),
    "volume_soft": Bilingual("小", "soft"),
    "volume_mute": Bilingual("消音", "off"),
}


def t(key: str, lang: str, **values: object) -> str:
    return T[key].get(lang).format(**values)


def both(key: str, sep: str = "\n", **values: object) -> str:
    """Japanese, then English: for screens shown before (or regardless of) the resident's choice."""
    return f"{t(key, 'ja', **values)}{sep}{t(key, 'en', **values)}"
