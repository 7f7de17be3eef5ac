"""The printed papers in Debian's Chromium: each document rendered in Kyrgyz and in Russian from fictional data,
printed to an A4 PDF, and read back with pdftotext."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route

from server.pwa import PWA_DIR

PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"

CHAIN_HEAD = hashlib.sha256(b"fictional journal for the print test").hexdigest()

SCHOOL = {
    "name": "№ 77 «Үлгү» жалпы орто билим берүү мектеби",
    "trust_phones": [
        {"label": "Социалдык педагог", "phone": "+996 000 000 001"},
        {"label": "БИИнин инспектору", "phone": "+996 000 000 002"},
    ],
}

PEDAGOGUE = {"name": "Асель Токтобекова", "position": "социалдык педагог"}
DEPUTY = {"name": "Гүлнара Абдыкадырова", "position": "директордун тарбия иштери боюнча орун басары"}
UNION = {"name": "Нурлан Бекмуратов", "position": "профсоюз өкүлү"}

OPENING = {
    "id": "6f1c2a5e-0000-4000-8000-000000000001",
    "opened_at": "2025-10-03T09:30:00+06:00",
    "members": [PEDAGOGUE, DEPUTY, UNION],
    "letters_count": 7,
    "seal": "intact",
    "remarks": "Кутуча таза, кулпу иштейт.",
}

MEETING = {
    "id": "6f1c2a5e-0000-4000-8000-000000000002",
    "held_on": "2025-10-10",
    "quorum": True,
    "members_present": [PEDAGOGUE, DEPUTY, UNION],
    "agenda": [
        {
            "mark": "№ 12",
            "received_on": "2025-10-03",
            "summary": "Тыныгууда шылдыңдашат",
            "decision": "Класс жетекчиси менен сүйлөшүү",
            "official": DEPUTY,
            "measures_planned": "Класстык саат өткөрүү",
        },
        {
            "mark": "~3",
            "received_on": "2025-10-09",
            "summary": "Ашканада орун жетпейт",
            "decision": "Администрацияга жиберүү",
            "official": None,
            "measures_planned": None,
        },
    ],
}

# A notice made from a whole appeal: the renderer must pick the mark, the date and the answer only.
PLANTED = {
    "full_name": "Жашыруун Кыздын Аты",
    "address": "Үлгү айылы, Жашыруун көчөсү, 99",
    "phone": "+996 000 000 099",
    "summary": "Жашыруун кыскача мазмун",
}
NOTICE = {
    "mark_kind": "receipt_code",
    "receipt_code": "K7M2QX",
    "serial_no": 12,
    "answered_on": "2025-10-10",
    "kind": "answer",
    "text": "Сенин катың окулду.\n\nКласс жетекчиң менен сүйлөштүк: мындан ары шылдыңдоо болбойт.",
    **PLANTED,
    "anonymous": False,
    "contents": {
        "applicant": {**PLANTED, "age": 13, "grade": "7Б"},
        "summary": PLANTED["summary"],
        "text": "Каттын толук жашыруун тексти",
        "receipt_code": "K7M2QX",
    },
}


def _journal_rows(count: int) -> list[dict[str, Any]]:
    rows = []
    for n in range(1, count + 1):
        anonymous = n % 3 == 0
        rows.append(
            {
                "serial_no": n,
                "received_on": f"2025-{9 + (n - 1) // 15:02d}-{(n - 1) % 15 + 2:02d}",
                "anonymous": anonymous,
                "full_name": None if anonymous else f"Окуучу{n} Т.",
                "age": None if anonymous else 10 + n % 7,
                "address": None if anonymous else f"Үлгү айылы, {n}-үй",
                "phone": None if anonymous else f"+996 000 000 {n:03d}",
                "summary": f"Кайрылуунун кыскача мазмуну номер {n}: класста кордоо жөнүндө",
                "official": DEPUTY if n % 2 else PEDAGOGUE,
                "answered_on": None if n == 40 else f"2025-{9 + (n - 1) // 15:02d}-{(n - 1) % 15 + 9:02d}",
                "measures": ["Жеке сүйлөшүү өткөрүлдү", "Ата-энеге кабарланды"] if n % 4 else [],
                "not_accepted": n == 17,
            }
        )
    return rows


JOURNAL = {"school_year": 2025, "chain_head": CHAIN_HEAD, "rows": _journal_rows(40)}

# As the app will print: the documents in a .print-area beside the app's own #app.
RENDER_BESIDE_THE_APP = """
async ({ args }) => {
  const i18n = await import('/js/i18n.js');
  const documents = await import('/js/print/documents.js');
  await i18n.setLanguage('ky', { persist: false });
  const area = document.createElement('div');
  area.className = 'print-area';
  area.append(documents.renderAct(...args));
  document.body.append(area);
  document.body.classList.add('printing');
  await document.fonts.ready;
}
"""

RENDER = """
async ({ kind, lang, args }) => {
  const i18n = await import('/js/i18n.js');
  const documents = await import('/js/print/documents.js');
  const { generateReceiptCodes } = await import('/js/print/codes.js');
  await i18n.setLanguage(lang, { persist: false });
  const renderers = {
    act: documents.renderAct, minutes: documents.renderMinutes, notice: documents.renderStandNotice,
    slips: documents.renderSlips, journal: documents.renderJournal,
  };
  if (kind === 'slips') args = [generateReceiptCodes(args[0]), args[1]];
  document.body.replaceChildren(renderers[kind](...args));
  document.body.classList.add('printing');
  await document.fonts.ready;
  return kind === 'slips' ? args[0] : null;
}
"""


def _printed(page: Page, tmp_path: Path, kind: str | None, lang: str, *args: Any) -> tuple[str, list[str], Any]:
    """Render one document (unless `kind` is None: print the page as it is), print it to A4, and return its
    text and the text of each page (whitespace collapsed), and what the rendering returned."""
    result = kind and page.evaluate(RENDER, {"kind": kind, "lang": lang, "args": list(args)})
    pdf = tmp_path / f"{kind or 'page'}-{lang}.pdf"
    page.pdf(path=pdf, format="A4", prefer_css_page_size=True)  # as Chromium prints: print.css sets the sheet
    pages = [" ".join(page_text.split()) for page_text in _pdftotext(pdf).split("\f")[:-1]]  # each ends with \f
    return " ".join(pages), pages, result


def _pdftotext(pdf: Path, *options: str) -> str:
    return subprocess.run(  # noqa: S603 (a fixed program on our own file)
        [PDFTOTEXT, "-enc", "UTF-8", *options, str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _module_as_on_disk(route: Route) -> None:
    """The module's own source: the server bundles i18n.js into app.js and has documents.js import it from
    there (server/pwa_bundle.py), while these tests import the modules one by one, without the app."""
    module = urlsplit(route.request.url).path.lstrip("/")
    body = "" if module == "js/app.js" else (PWA_DIR / module).read_text(encoding="utf-8")
    route.fulfill(body=body, content_type="text/javascript")


def _page_without_the_app(route: Route) -> None:
    """The page as served, its stylesheet inline, but without the first screen's modules it carries."""
    served = route.fetch()
    page = re.sub(r'<script type="module">.*?</script>', "", served.text(), count=1, flags=re.S)
    route.fulfill(response=served, body=page)


@pytest.fixture
def app_page(page: Page) -> Page:
    """The app's own page with its stylesheets (print.css, which the app adds with the first paper, too) as
    the paper. The app itself is not started: these tests are about the documents, and a booting app would
    switch the language under them."""
    page.route("**/js/**/*.js", _module_as_on_disk)
    page.route(lambda url: urlsplit(url).path == "/", _page_without_the_app)
    page.goto("/")
    page.add_style_tag(url="/css/print.css")
    return page


WORDS = {
    "ky": {
        "act": [
            "«Ишеним кутучасын» ачуу актысы",
            "Кулпунун жана пломбанын абалы: бузулган эмес",
            "Кутудан алынган каттардын саны: 7",
            "Мектептин директору",
            "Акт менен тааныштым",
        ],
        "minutes": [
            "комиссиянын жыйынынын протоколу",
            "Кворум бар",
            "Кабыл алынган чечим",
            "Кызматтык жашыруун маалымат",
        ],
        "notice": ["катыңызга жооп", "Талондун коду", "Ишеним телефондору"],
        "invitation": ["Катыңыз алынды", "жеке сүйлөшүүгө келиңиз"],
        "slips": ["талонду сактап калыңыз"],
        "journal": [
            "«Ишеним кутусу» аркылуу кабыл алынган кайрылуулар журналы",
            "Окуу жылы: 2025–2026",
            "анонимдүү",
            "кабыл алынбайт",
            "Кайрылуунун кыскача мазмуну",
            "Көрүлгөн чаралар жөнүндө белги",
        ],
        "page": "Бет",
        "month": "октябрь",
    },
    "ru": {
        "act": [
            "Акт вскрытия «Ящика доверия»",
            "Состояние замка и пломбы: не нарушены",
            "Извлечено писем: 7",
            "Директор школы",
            "С актом ознакомлен(а)",
        ],
        "minutes": [
            "Протокол заседания комиссии",
            "Кворум имеется",
            "Принятое решение",
            "Служебная информация ограниченного доступа",
        ],
        "notice": ["ответ на ваше письмо", "Код талона", "Телефоны доверия"],
        "invitation": ["Ваше письмо получено", "на личную беседу"],
        "slips": ["талон сохраните"],
        "journal": [
            "Журнал регистрации обращений, поступивших через «Ящик доверия»",
            "Учебный год: 2025–2026",
            "анонимно",
            "не принимается",
            "Краткое содержание обращения",
            "Отметка о принятых мерах",
        ],
        "page": "Стр.",
        "month": "октября",
    },
}


def _has_all(text: str, expected: list[str]) -> None:
    missing = [word for word in expected if word not in text]
    assert missing == [], f"missing {missing} in: {text[:3000]}"


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_act_of_opening(app_page, tmp_path, lang):
    text, pages, _ = _printed(app_page, tmp_path, "act", lang, OPENING, SCHOOL)
    _has_all(
        text,
        [
            *WORDS[lang]["act"],
            SCHOOL["name"],
            WORDS[lang]["month"],
            "2025",
            "09:30",
            OPENING["remarks"],
            OPENING["id"],
            *(m["name"] for m in OPENING["members"]),
        ],
    )
    assert len(pages) == 1
    assert app_page.errors == []


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_minutes_of_the_commission(app_page, tmp_path, lang):
    text, pages, _ = _printed(app_page, tmp_path, "minutes", lang, MEETING, SCHOOL)
    agenda = MEETING["agenda"]
    _has_all(
        text,
        [
            *WORDS[lang]["minutes"],
            SCHOOL["name"],
            "№ 12",
            "~3",
            "03.10.2025",
            "09.10.2025",
            agenda[0]["decision"],
            agenda[0]["measures_planned"],
            DEPUTY["name"],
            *(m["name"] for m in MEETING["members_present"]),
            f"{WORDS[lang]['page']} 1 / {len(pages)}",
        ],
    )
    # One line to sign per member present: under each, the word "signature".
    signature = {"ky": "колу", "ru": "подпись"}[lang]
    assert text.count(f" {signature} ") >= len(MEETING["members_present"])


@pytest.mark.parametrize("quorum", [False, 4])  # as a fact, or as the number of members needed (3 came)
def test_minutes_without_quorum_and_without_letters(app_page, tmp_path, quorum):
    text, _, _ = _printed(app_page, tmp_path, "minutes", "ky", {**MEETING, "quorum": quorum, "agenda": []}, SCHOOL)
    _has_all(text, ["Кворум жок", "Бул жыйында кайрылуулар каралган жок."])
    assert "Кворум бар" not in text


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_stand_notice_shows_the_mark_the_date_and_the_answer_only(app_page, tmp_path, lang):
    text, pages, _ = _printed(app_page, tmp_path, "notice", lang, NOTICE, SCHOOL)
    _has_all(
        text,
        [
            *WORDS[lang]["notice"],
            "K7M2QX",
            WORDS[lang]["month"],
            "2025",
            "Сенин катың окулду.",
            "мындан ары шылдыңдоо болбойт",
            *(p["phone"] for p in SCHOOL["trust_phones"]),
        ],
    )
    leaked = [value for value in [*PLANTED.values(), "Каттын толук жашыруун тексти", "7Б"] if value in text]
    assert leaked == []
    assert len(pages) == 1


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_stand_invitation_by_serial_number(app_page, tmp_path, lang):
    invitation = {**NOTICE, "mark_kind": "serial", "kind": "invitation", "text": "Бул текст басылбашы керек"}
    text, _, _ = _printed(app_page, tmp_path, "notice", lang, invitation, SCHOOL)
    _has_all(text, [*WORDS[lang]["invitation"], "№ 12"])
    leaked = [value for value in [*PLANTED.values(), "K7M2QX", "Бул текст басылбашы керек"] if value in text]
    assert leaked == []


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_sheets_of_receipt_slips(app_page, tmp_path, lang):
    text, pages, codes = _printed(app_page, tmp_path, "slips", lang, 30, SCHOOL)
    assert len(codes) == len(set(codes)) == 30
    _has_all(text, [*WORDS[lang]["slips"], *codes])
    assert text.count(WORDS[lang]["slips"][0]) == 30
    assert [len(re.findall(r"\b[0-9A-Z]{6}\b", page)) for page in pages] == [24, 6]  # 24 slips to a sheet
    # Nothing is cut off inside a slip (pdftotext would still read clipped text).
    clipped = app_page.evaluate(
        "[...document.querySelectorAll('.print-slip')].filter((slip) => slip.scrollHeight > slip.clientHeight).length"
    )
    assert clipped == 0


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_journal_pages_are_numbered_and_carry_the_chain_head(app_page, tmp_path, lang):
    text, pages, _ = _printed(app_page, tmp_path, "journal", lang, JOURNAL, SCHOOL)
    assert len(pages) >= 3  # the title page and at least two pages of 40 rows
    _has_all(
        text,
        [
            *WORDS[lang]["journal"],
            SCHOOL["name"],
            "02.09.2025",
            "Окуучу1 Т.",
            "+996 000 000 040",
            "Кайрылуунун кыскача мазмуну номер 40",
            DEPUTY["name"],
            "Ата-энеге кабарланды",
        ],
    )
    # Every page is numbered "N / M" and carries the chain head: the title page in its box, the others in the
    # table's footer, which Chromium repeats on every page of the table.
    word = WORDS[lang]["page"]
    for n, page in enumerate(pages, start=1):
        assert f"{word} {n} / {len(pages)}" in page
        assert CHAIN_HEAD in page, f"page {n}"
    # Every serial number, in order, each at the start of its row, followed by the date received.
    layout = _pdftotext(tmp_path / f"journal-{lang}.pdf", "-layout")
    serials = [int(n) for n in re.findall(r"^\s*(\d+)\s+\d\d\.\d\d\.2025", layout, re.MULTILINE)]
    assert serials == [row["serial_no"] for row in JOURNAL["rows"]]


def test_only_the_documents_reach_the_paper(app_page, tmp_path):
    """With the class `printing` on <body>, the app's own screens beside the documents are left off the paper."""
    app_page.evaluate(RENDER_BESIDE_THE_APP, {"args": [OPENING, SCHOOL]})
    text, pages, _ = _printed(app_page, tmp_path, None, "ky")
    boot_message = "Ишеним жүктөлүүдө"
    assert app_page.locator(".boot-message").first.is_visible()  # on screen the app is still there
    assert boot_message not in text
    _has_all(text, WORDS["ky"]["act"])
    assert len(pages) == 1
