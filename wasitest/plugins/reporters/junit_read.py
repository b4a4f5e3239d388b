"""The JUnit XML wasitest writes, read back with junitparser, for code that inspects it
(a test, a dashboard's importer). Apart from the reporter (`junit.py`), which writes the
XML as text: every command loads the reporters, and none of them needs junitparser."""

from __future__ import annotations

from junitparser import Attr, IntAttr, JUnitXml
from junitparser.xunit2 import TestCase

from wasitest.plugins.reporters.junit import junit_chunks
from wasitest.results import ResultsDocument


class LocatedTestCase(TestCase):
    """A `<testcase>` with the `file` and `line` attributes of where it failed or skipped."""

    file = Attr()
    line = IntAttr()


def render_junit(document: ResultsDocument, fail_on_divergence: bool = False) -> JUnitXml:
    """The JUnit XML of the document, read back with junitparser."""
    xml = JUnitXml.fromstring("".join(junit_chunks(document, fail_on_divergence)).encode("utf-8"))
    assert isinstance(xml, JUnitXml)
    return xml
