"""No template text escapes translation: every word a person reads in a template goes
through gettext (_ or ngettext), so French pages hold no English left behind."""

import re
from html.parser import HTMLParser
from pathlib import Path

from jinja2 import Environment, nodes

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
WORD = re.compile(r"[A-Za-z][A-Za-z']+")
# Words that read the same in both languages: acronyms and setting names are all capitals.
SAME_IN_BOTH = {"ms", "kB", "MB", "GB", "PostgreSQL", "sslmode", "createdb", "org1_db"}
SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
TRANSLATING = {"_", "gettext", "ngettext"}
COMMANDS = {"flask_command"}  # a command line reads the same in both languages, as in <code>


def untranslated_words(text: str) -> list[str]:
    return [w for w in WORD.findall(text) if not w.isupper() and w not in SAME_IN_BOTH]


class TextAndLabels(HTMLParser):
    """The text and the shown attributes of a template with its Jinja parts taken out."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style", "code")
        self.found += [value for name, value in attrs if name in SHOWN_ATTRIBUTES and value]

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style", "code")

    def handle_data(self, data):
        if not self.skip:
            self.found.append(data)


def literal_text(source: str) -> list[str]:
    parser = TextAndLabels()
    parser.feed(JINJA.sub(" ", source))
    return [text.strip() for text in parser.found if untranslated_words(text)]


def prose_constants(source: str) -> list[str]:
    """String constants in Jinja expressions that read as words (a capitalised word, or two
    words or more) and are not an argument of _ or ngettext."""
    tree = Environment(extensions=["jinja2.ext.i18n"]).parse(source)
    calls = [call for call in tree.find_all(nodes.Call) if isinstance(call.node, nodes.Name)]
    translated = {id(arg) for call in calls if call.node.name in TRANSLATING for arg in call.args}
    translated |= {id(const) for call in calls if call.node.name in COMMANDS for const in call.find_all(nodes.Const)}
    found = []
    for const in tree.find_all(nodes.Const):
        value = const.value
        if not isinstance(value, str) or id(const) in translated:
            continue
        words = [w for w in value.split() if w.isalpha()]
        if re.fullmatch(r"[A-Z][a-z]+", value) or (len(words) >= 2 and untranslated_words(" ".join(words))):
            found.append(value)
    return found


def test_every_template_string_goes_through_gettext():
    escaped = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        source = path.read_text()
        found = literal_text(source) + prose_constants(source)
        if found:
            escaped[str(path.relative_to(TEMPLATES))] = found
    assert not escaped, f"wrap these in _() (templates/): {escaped}"


def test_the_check_finds_an_untranslated_string():
    assert literal_text('<h1>{{ _("Donors") }}</h1><p title="Last test">x</p><button>Save</button>') == [
        "Last test",
        "Save",
    ]
    assert prose_constants('{{ x or "not set" }}{{ _("Saved") }}{{ "Email" }}{{ "text-bg-danger" }}') == [
        "not set",
        "Email",
    ]
