"""Every string of the staff and technician screens, in Japanese and English. A key not here falls back
to the kiosk's table (yoshin.tui.text), so the two apps share the words they have in common."""

from __future__ import annotations

from yoshin.domain.i18n import Bilingual
from yoshin.tui.text import T

STAFF_T = {
    "staff_login": Bilingual("職員ログイン", "Staff login"),
    "password_or_card": Bilingual("パスワード (カードなら空欄)", "Password (blank if card)"),
    "staff_card_pin": Bilingual("職員カードの暗証番号 (4桁)", "Staff card PIN (4 digits)"),
    "checking": Bilingual("確認しています…", "Checking…"),
    "locked": Bilingual("ロック中: {name}", "Locked: {name}"),
    "another_person": Bilingual("別の職員", "Another person"),
    "login_offline": Bilingual(
        "ホストに接続できないためログインできません。ロック中の方は同じパスワードで再開できます",
        "The host cannot be reached: no login now. A locked session resumes with the same password",
    ),
    "lock_countdown": Bilingual(
        "操作がないため あと{seconds}秒でロックします (入力中の内容は保持されます)",
        "No activity: locking in {seconds} s (what you typed is kept)",
    ),
    "logged_in_as": Bilingual("{name} ({role}) でログイン中", "Logged in: {name} ({role})"),
    "role_doctor": Bilingual("医師", "doctor"),
    "role_nurse": Bilingual("看護師", "nurse"),
    "role_clerk": Bilingual("事務", "clerk"),
    "role_technician": Bilingual("技術担当者", "technician"),
    "role_municipal_admin": Bilingual("自治体管理者", "municipal admin"),
    "role_auditor": Bilingual("監査担当者", "auditor"),
    "section_waiting_doctor": Bilingual("診察待ち", "Waiting for the doctor"),
    "section_waiting_vaccination": Bilingual("接種待ち", "Waiting for vaccination"),
    "section_done": Bilingual("完了", "Done"),
    "none_here": Bilingual("なし", "none"),
    "awaiting_check": Bilingual("確認待ち", "to be checked"),
    "outcome_vaccinated": Bilingual("接種済", "vaccinated"),
    "outcome_defer": Bilingual("見合わせ", "deferred"),
    "fever": Bilingual("発熱 {value}℃", "fever {value} °C"),
    "flag_not_eligible": Bilingual("✖接種不可", "✖NOT ELIGIBLE"),
    "flag_doctor_review": Bilingual("⚠要医師確認", "⚠DOCTOR TO REVIEW"),
    "flags_title": Bilingual("確認が必要な回答", "Answers to check"),
    "no_flags": Bilingual("確認が必要な回答はありません", "No answer needs checking"),
    "calls": Bilingual("職員呼び出し {n}件: {where}", "Staff called {n}: {where}"),
    "call_answer": Bilingual("呼び出しに対応", "Answer the call"),
    "screen_name": Bilingual("{screen} {time}", "{screen} {time}"),
    "screen_welcome": Bilingual("最初の画面", "welcome"),
    "screen_consent": Bilingual("同意", "consent"),
    "screen_card": Bilingual("カード", "card"),
    "screen_pin": Bilingual("暗証番号", "PIN"),
    "screen_identity": Bilingual("本人確認", "identity"),
    "screen_vaccine": Bilingual("接種の選択", "vaccine choice"),
    "screen_questionnaire": Bilingual("質問", "questionnaire"),
    "screen_review": Bilingual("回答の確認", "review"),
    "screen_remove_card": Bilingual("カードの取り忘れ", "card left in"),
    "screen_thanks": Bilingual("終了", "thanks"),
    "screen_other": Bilingual("受付画面", "kiosk"),
    "entered_by": Bilingual("入力: {name}", "entered by {name}"),
    "override_reason": Bilingual("接種不可でも接種する理由", "Reason to override 接種不可"),
    "proceed": Bilingual("接種可", "Proceed"),
    "defer": Bilingual("見合わせ", "Defer"),
    "explained": Bilingual("効果と副反応を説明した", "Benefits/risks explained"),
    "need_explanation": Bilingual(
        "接種可とするには説明したことを確認してください", "To proceed, confirm that it was explained"
    ),
    "decision_proceed": Bilingual("接種可", "proceed"),
    "decision_defer": Bilingual("見合わせ", "defer"),
    "expiry": Bilingual("有効期限", "Expiry"),
    "expiry_hint": Bilingual("有効期限 (例 2027/06/30)", "Expiry (e.g. 2027/06/30)"),
    "selected": Bilingual("選択中", "selected"),
    "second_check": Bilingual("ダブルチェック: 別の職員が確認してください", "Double check: a second person confirms"),
    "check_with_card": Bilingual(
        "確認者のカードを読み取り機に置き暗証番号を入力、またはIDとパスワード",
        "Checker: own card on the reader and its PIN, or ID and password",
    ),
    "check_on_own_screen": Bilingual("確認者の画面で確認", "Check on the checker's own screen"),
    "waiting_for_checker": Bilingual(
        "確認待ちにしました。確認者は自分の画面の「接種待ち」から確認します",
        "Waiting for the check: the checker confirms from their own screen's list",
    ),
    "confirm_check": Bilingual("内容を確認した", "I have checked it"),
    "checker_pin": Bilingual("確認者カードの暗証番号", "Checker's card PIN"),
    "guard_title": Bilingual("接種前の確認: 次の点があります", "Before vaccinating: the guard found"),
    "guard_no_override": Bilingual("この内容では接種できません", "This cannot be given"),
    "guard_doctor": Bilingual(
        "接種する場合は判断した医師 ({doctor}) が理由を記録します",
        "To proceed, the deciding doctor ({doctor}) records why",
    ),
    "guard_reason": Bilingual("医師の理由 (記録に残ります)", "Doctor's reason (kept in the record)"),
    "guard_need_reason": Bilingual("理由を入力してください", "Give the reason"),
    "guard_override": Bilingual("医師が確認して続ける", "Doctor confirms, continue"),
    # --- reception (control 4) -----------------------------------------------------------------------------
    "reception": Bilingual("受付確認 (カード待ち {n})", "Reception check ({n} waiting)"),
    "reception_title": Bilingual("受付確認: カードの前に本人確認", "Reception check: identity before the card"),
    "reception_who": Bilingual("来院者", "Who came"),
    "presenter_self": Bilingual("本人", "the person"),
    "presenter_guardian": Bilingual("保護者 (親権者)", "guardian (parent)"),
    "presenter_proxy": Bilingual("代理人 (委任状)", "proxy (mandate)"),
    "reception_documents": Bilingual("確認した書類", "Documents seen"),
    "document_my_number_card": Bilingual("マイナンバーカード", "My Number card"),
    "document_drivers_license": Bilingual("運転免許証", "driving licence"),
    "document_health_insurance": Bilingual("保険証 (資格確認書)", "health insurance card"),
    "document_passport": Bilingual("旅券", "passport"),
    "document_residence_card": Bilingual("在留カード", "residence card"),
    "document_maternal_child_handbook": Bilingual("母子健康手帳", "maternal and child handbook"),
    "document_power_of_attorney": Bilingual("委任状", "power of attorney (委任状)"),
    "reception_confirm": Bilingual("本人確認済み", "Identity confirmed"),
    "reception_open": Bilingual("カード待ち {n}件 (押すと取消)", "Waiting for their card: {n} (press to cancel)"),
    "reception_cancel": Bilingual("取消", "cancel"),
    "reception_done": Bilingual(
        "記録しました。次にカードを置いた方の受付確認になります",
        "Recorded: it goes with the next card on the kiosk",
    ),
    "reception_by": Bilingual("受付確認: {name} ({who}: {documents})", "Reception: {name} ({who}: {documents})"),
    "list_sep": Bilingual("・", ", "),
    # --- technician ---------------------------------------------------------------------------------------
    "tech_reader": Bilingual("カード読み取り機", "reader"),
    "tech_board": Bilingual("I/Oボード", "I/O board"),
    "tech_firmware": Bilingual("ファームウェア", "firmware"),
    "tech_queue": Bilingual(
        "送信待ち {depth}件 / 送信不能 {dead}件 / 最終送信 {last}",
        "queue: {depth} queued, {dead} dead letters, last sent {last}",
    ),
    "tech_device": Bilingual("端末 {device} / 証明書の期限 {until}", "device: {device}  certificate until {until}"),
    "tech_not_enrolled": Bilingual("未設置 (証明書なし)", "not provisioned (no certificate)"),
    "tech_app": Bilingual("アプリ yoshin {version}", "app: yoshin {version}"),
    "test_host": Bilingual("ホスト", "host"),
    "test_queue": Bilingual("送信キュー", "queue"),
    "test_templates": Bilingual("予診票テンプレート", "templates"),
    "test_certificate": Bilingual("証明書", "certificate"),
    "provision": Bilingual("設置 (プロビジョニング)", "Provision"),
    "provision_token": Bilingual("設置用トークン (自治体の管理者から)", "Enrollment token (from the municipality)"),
    "provision_host": Bilingual("ホストのアドレス (例 10.0.0.5:8443)", "Host address (e.g. 10.0.0.5:8443)"),
    "provision_fingerprint": Bilingual("ホストCAの指紋 (SHA-256)", "Host CA fingerprint (SHA-256)"),
    "provision_done": Bilingual("設置しました: {device}", "Provisioned: {device}"),
    "provision_title": Bilingual("未設置の端末: 技術担当者による設置", "Not provisioned: set up by a technician"),
    "provision_municipality": Bilingual("自治体コード (6桁)", "Municipality code (6 digits)"),
    "provision_technician": Bilingual("技術担当者ID", "Technician ID"),
    "provision_login": Bilingual("ログインして設置", "Log in to provision"),
    "provision_who": Bilingual(
        "技術担当者 {name} ({staff_id}) としてログインしました。ホストの確認済み",
        "Logged in as technician {name} ({staff_id}), checked by the host",
    ),
    "provision_clinic": Bilingual("医療機関コード (10桁)", "Clinic code (10 digits)"),
    "provision_serial": Bilingual("この端末の製造番号", "This appliance's serial number"),
    "provision_place": Bilingual("接種場所として記録する医療機関名", "Clinic name as printed on records"),
    "provision_go": Bilingual("設置する", "Provision"),
    "provision_working": Bilingual(
        "設置しています (鍵の作成・登録・テンプレート取得)…", "Provisioning (keys, enrollment, templates)…"
    ),
    "provision_to_login": Bilingual("職員ログインへ", "To staff login"),
    "decommission": Bilingual("廃棄 (データ消去)", "Decommission"),
    "decommission_confirm": Bilingual(
        "廃棄すると送信後に鍵とデータをすべて消去し、ホストに消去証明を記録します。この端末は使えなくなります",
        "Decommissioning sends what is queued, erases every key and file, and records an erasure certificate "
        "at the host. The appliance stops working",
    ),
    "decommission_go": Bilingual("消去して廃棄する", "Erase and decommission"),
    "decommission_working": Bilingual("廃棄しています…", "Decommissioning…"),
    "decommission_done": Bilingual(
        "廃棄しました: {device} (鍵{keys}個を消去、ホストに記録済み)",
        "Decommissioned: {device} ({keys} keys erased, recorded at the host)",
    ),
    "decommission_lost": Bilingual(
        "送信できないデータが{count}件あるため廃棄しません。送信できてから廃棄してください",
        "{count} queued record(s) could not be delivered, so nothing was erased: decommission once they are sent",
    ),
    "amount_for_age": Bilingual("{ml} mL (この年齢の量)", "{ml} mL (the amount for this age)"),
    "amount_other": Bilingual("{ml} mL (別の年齢の量)", "{ml} mL (another age's amount)"),
    "history_waiting": Bilingual(
        "ホストに最新の接種歴を確認しています…", "Asking the host for the latest vaccination history…"
    ),
}


def ts(key: str, lang: str, **values: object) -> str:
    text = STAFF_T.get(key) or T[key]
    return text.get(lang).format(**values)
