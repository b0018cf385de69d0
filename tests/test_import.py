"""``weakties import``: real vCard and CSV files written to disk, the real CLI, a real SQLite."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from tests.helpers import Env, make_env

VCARDS = (
    # vCard 3.0: a folded FN, two EMAIL lines, CRLF line ends.
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "FN:Priya Pa\r\n"
    " tel\r\n"
    "N:Patel;Priya;;;\r\n"
    "EMAIL;TYPE=INTERNET,WORK:priya@example.org\r\n"
    "EMAIL;TYPE=HOME:Priya.Patel@Home.Example\r\n"
    "END:VCARD\r\n"
    # vCard 2.1: a quoted-printable UTF-8 name with a soft line break.
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen M=\r\n"
    "=C3=BCller\r\n"
    "EMAIL;INTERNET:juergen@example.de\r\n"
    "EMAIL:not an address\r\n"
    "END:VCARD\r\n"
    # vCard 4.0: raw UTF-8, a long EMAIL folded with a tab.
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Zoë Ångström\r\n"
    "EMAIL;TYPE=work;PREF=1:zoe.angstrom-with-a-very-long-local-part@research.exa\r\n"
    "\tmple.se\r\n"
    "EMAIL:zoe@example.se\r\n"
    "END:VCARD\r\n"
    # No FN: the name comes from N; no address at all.
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:Doe;John;;;\r\n"
    "ORG:Acme\r\n"
    "END:VCARD\r\n"
)

GOOGLE_CSV = (
    "First Name,Middle Name,Last Name,Phonetic First Name,Nickname,Organization Name,"
    "Labels,E-mail 1 - Label,E-mail 1 - Value,E-mail 2 - Label,E-mail 2 - Value,"
    "Phone 1 - Label,Phone 1 - Value\n"
    "Bob,,Builder,,,,* myContacts,* Home,bob@example.net ::: bobby@example.net,Work,"
    "bob@work.example,Mobile,+1 555 0100\n"
    'Carla,M.,"de la Cruz",,,,* myContacts,,carla@example.com,,,,\n'
    ',,,,,"Plumbing, Inc.",* myContacts,Work,office@plumbing.example,,,,\n'
)

# The older Google CSV (before 2021): a Name column and "E-mail 1 - Type".
GOOGLE_OLD_CSV = (
    "Name,Given Name,Additional Name,Family Name,Yomi Name,Group Membership,"
    "E-mail 1 - Type,E-mail 1 - Value,E-mail 2 - Type,E-mail 2 - Value\n"
    "Dana Scully,Dana,,Scully,,* My Contacts,* Home,dana@example.gov,,\n"
)

LINKEDIN_CSV = (
    "Notes:\n"
    '"When exporting your connection data, you may notice that some of the email addresses '
    "are missing. You will only see email addresses for connections who have allowed their "
    'connections to see or download their email address using this setting."\n'
    "\n"
    "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
    "Ada,Lovelace,https://www.linkedin.com/in/ada,ada@example.org,"
    '"Analytical Engines, Ltd",Engineer,12 Jan 2020\n'
    "Grace,Hopper,https://www.linkedin.com/in/grace,,US Navy,Rear Admiral,03 Feb 2021\n"
    'Alan,Turing,https://www.linkedin.com/in/alan,,"Bletchley ""Park""",Cryptanalyst,'
    "04 Mar 2019\n"
)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def import_ok(env: Env, path: Path, *args: str) -> str:
    result = env.run("import", str(path), *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def contacts(env: Env) -> dict[str, dict]:
    return {c["name"]: c for c in env.json("contact", "list")}


def test_vcards_with_folding_encodings_and_several_emails(env: Env, tmp_path: Path) -> None:
    out = import_ok(env, write(tmp_path, "friends.vcf", VCARDS))
    assert "friends.vcf (vcard): 4 added, 0 merged, 0 already there, 0 skipped" in out
    assert "line 9: 'not an address' is not an e-mail address, left out" in out
    found = contacts(env)
    assert found["Priya Patel"]["emails"] == ["priya@example.org", "Priya.Patel@Home.Example"]
    assert found["Jürgen Müller"]["emails"] == ["juergen@example.de"]
    assert found["Zoë Ångström"]["emails"] == [
        "zoe.angstrom-with-a-very-long-local-part@research.example.se",
        "zoe@example.se",
    ]
    assert found["John Doe"]["emails"] == []
    assert "1 of the added have no e-mail address" in out

    again = import_ok(env, write(tmp_path, "friends.vcf", VCARDS))
    assert "0 added, 0 merged, 4 already there, 0 skipped" in again
    assert len(contacts(env)) == 4


def test_merge_by_address_then_by_name_and_tags_cadence(env: Env, tmp_path: Path) -> None:
    assert (
        env.run(
            "contact", "add", "P. Patel", "--email", "PRIYA@example.org", "--cadence", "30d"
        ).exit_code
        == 0
    )
    assert env.run("contact", "add", "Jürgen Müller", "--email", "jm@old.example").exit_code == 0
    out = import_ok(
        env,
        write(tmp_path, "x.vcf", VCARDS),
        "--tag",
        "imported",
        "--tag",
        "friends",
        "--cadence",
        "1y",
    )
    assert "2 added, 2 merged, 0 already there, 0 skipped" in out
    found = contacts(env)
    assert "Priya Patel" not in found  # merged into the contact owning the address
    assert found["P. Patel"]["emails"] == ["PRIYA@example.org", "Priya.Patel@Home.Example"]
    assert found["P. Patel"]["cadence_days"] == 30  # an own cadence is never overridden
    assert found["Jürgen Müller"]["emails"] == ["jm@old.example", "juergen@example.de"]
    assert found["Jürgen Müller"]["cadence_days"] == 365
    assert found["Zoë Ångström"]["tags"] == ["friends", "imported"]
    assert found["P. Patel"]["tags"] == ["friends", "imported"]


def test_a_card_spanning_two_contacts_is_skipped(env: Env, tmp_path: Path) -> None:
    env.run("contact", "add", "Work Priya", "--email", "priya@example.org")
    env.run("contact", "add", "Home Priya", "--email", "priya.patel@home.example")
    out = import_ok(env, write(tmp_path, "x.vcf", VCARDS))
    assert (
        "line 1: skipped Priya Patel: its addresses belong to 'Work Priya' and 'Home Priya'"
    ) in out
    assert "3 added, 0 merged, 0 already there, 1 skipped" in out
    assert contacts(env)["Work Priya"]["emails"] == ["priya@example.org"]


def test_google_csv_current_and_old_formats(env: Env, tmp_path: Path) -> None:
    out = import_ok(env, write(tmp_path, "contacts.csv", GOOGLE_CSV, "utf-8-sig"))
    assert "contacts.csv (google): 3 added" in out
    found = contacts(env)
    assert found["Bob Builder"]["emails"] == [
        "bob@example.net",
        "bobby@example.net",
        "bob@work.example",
    ]
    assert found["Carla M. de la Cruz"]["emails"] == ["carla@example.com"]
    assert found["Plumbing, Inc."]["emails"] == ["office@plumbing.example"]

    out = import_ok(env, write(tmp_path, "google.csv", GOOGLE_OLD_CSV, "utf-16"))
    assert "google.csv (google): 1 added" in out
    assert contacts(env)["Dana Scully"]["emails"] == ["dana@example.gov"]


def test_linkedin_connections_with_preamble(env: Env, tmp_path: Path) -> None:
    path = write(tmp_path, "Connections.csv", LINKEDIN_CSV)
    out = import_ok(env, path, "--tag", "linkedin")
    assert "Connections.csv (linkedin): 3 added, 0 merged, 0 already there, 0 skipped" in out
    assert "2 of the added have no e-mail address" in out
    found = contacts(env)
    assert found["Ada Lovelace"]["emails"] == ["ada@example.org"]
    assert found["Grace Hopper"]["emails"] == [] and found["Alan Turing"]["emails"] == []
    status = {s["name"]: s for s in env.json("status")}
    assert status["Grace Hopper"]["last_contact"] is None
    assert "never" in env.run("status").stdout
    assert env.run("contact", "show", "Grace Hopper").stdout.startswith(
        "Grace Hopper (no address)\n  no interactions recorded yet"
    )

    assert "0 added, 0 merged, 3 already there" in import_ok(env, path, "--tag", "linkedin")
    assert len(contacts(env)) == 3


def test_tag_filters_on_list_and_status(env: Env, tmp_path: Path) -> None:
    import_ok(env, write(tmp_path, "Connections.csv", LINKEDIN_CSV), "--tag", "linkedin")
    import_ok(env, write(tmp_path, "old.csv", GOOGLE_OLD_CSV), "--tag", "fbi")
    env.run("contact", "add", "Untagged", "--email", "u@example.org")
    assert [c["name"] for c in env.json("contact", "list", "--tag", "fbi")] == ["Dana Scully"]
    both = env.json("status", "--tag", "fbi", "--tag", "linkedin")
    assert sorted(s["name"] for s in both) == [
        "Ada Lovelace",
        "Alan Turing",
        "Dana Scully",
        "Grace Hopper",
    ]
    listed = env.run("contact", "list", "--tag", "linkedin").stdout
    assert "Grace Hopper" in listed and "Untagged" not in listed
    assert "No contact tagged nobody." in env.run("status", "--tag", "nobody").stdout


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "broken.vcf",
            "BEGIN:VCARD\nVERSION:3.0\nFN:A\nEND:VCARD\nBEGIN:VCARD\nVERSION:3.0\n"
            "FN:B\nthis line has no colon\nEND:VCARD\n",
            "line 8: not a valid vCard: Failed to parse line: this line has no colon",
        ),
        (
            "open.vcf",
            "BEGIN:VCARD\nVERSION:3.0\nFN:A\nEMAIL:a@example.org\n",
            "line 4: not a valid vCard: Component VCARD was never closed",
        ),
        (
            "calendar.vcf",
            "BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n",
            "line 1: expected BEGIN:VCARD, found 'BEGIN:VCALENDAR'",
        ),
        (
            "Connections.csv",
            LINKEDIN_CSV + "Eve,Extra,url,eve@example.org,Co,Pos,01 Jan 2024,surplus\n",
            "line 8: 8 fields where the header has 7",
        ),
        ("contacts.csv", GOOGLE_CSV + 'Open,,"Quote,,,,,,,,,,\n', "line 5: malformed CSV"),
        ("latin1.csv", None, "line 3: not UTF-8 text"),
    ],
)
def test_malformed_files_are_rejected_with_the_line(
    env: Env, tmp_path: Path, name: str, text: str | None, expected: str
) -> None:
    if text is None:
        path = tmp_path / name
        path.write_bytes(GOOGLE_OLD_CSV.encode() + "Zoë,,,,,,,zoe@example.se,,\n".encode("latin-1"))
    else:
        path = write(tmp_path, name, text)
    result = env.run("import", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith("weakties: error: ")
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert env.json("contact", "list") == []  # nothing written


def test_format_detection_and_override(env: Env, tmp_path: Path) -> None:
    # Content wins over the name: a vCard saved as .txt is still a vCard.
    assert "(vcard): 4 added" in import_ok(env, write(tmp_path, "cards.txt", VCARDS))
    unknown = write(tmp_path, "people.csv", "name,mail\nA,a@example.org\n")
    result = env.run("import", str(unknown))
    assert result.exit_code == 1 and "use --format" in result.stderr
    forced = env.run("import", str(unknown), "--format", "google")
    assert forced.exit_code == 1 and "line 1: not a Google Contacts CSV" in forced.stderr
    wrong = env.run("import", str(write(tmp_path, "c.csv", LINKEDIN_CSV)), "--format", "vcard")
    assert wrong.exit_code == 1 and "line 1: expected BEGIN:VCARD, found 'Notes:'" in wrong.stderr


def test_bom_is_honoured(tmp_path: Path) -> None:
    from syncd import importers

    path = tmp_path / "c.csv"
    path.write_bytes(codecs.BOM_UTF8 + LINKEDIN_CSV.encode())
    parsed = importers.read(path)
    assert parsed.format == "linkedin" and parsed.cards[0].line == 5


def test_streamed_files_keep_lines_endings_and_duplicates_right(tmp_path: Path) -> None:
    """Read line by line: old Mac line endings, UTF-16, and an address repeated many times."""
    from syncd import importers

    emails = "".join(f"EMAIL:u{i % 500}@example.org\r\n" for i in range(5000))
    many = write(
        tmp_path, "many.vcf", f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Many\r\n{emails}END:VCARD\r\n"
    )
    [card] = importers.read(many).cards
    assert card.emails == [f"u{i}@example.org" for i in range(500)] and card.line == 1

    mac = write(tmp_path, "mac.vcf", VCARDS.replace("\r\n", "\n").replace("\n", "\r"))
    assert [c.name for c in importers.read(mac).cards] == [
        c.name for c in importers.read(write(tmp_path, "unix.vcf", VCARDS)).cards
    ]
    utf16 = tmp_path / "c16.csv"
    utf16.write_bytes(codecs.BOM_UTF16_LE + LINKEDIN_CSV.encode("utf-16-le"))
    parsed = importers.read(utf16)
    assert parsed.format == "linkedin" and [c.line for c in parsed.cards] == [5, 6, 7]
