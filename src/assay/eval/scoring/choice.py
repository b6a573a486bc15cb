"""Which option a multiple-choice answer picked, read the way a careful grader reads it.

Wrappers are looked through first: ``\\( C \\)``, ``$C$``, ``\\text{C. …}``, ``**(C)**``,
backticks. Then only a *stated final choice* counts; the last one in the text wins (models
restate options on the way and correct themselves):

  - an ``ANSWER: X`` / ``Final answer: X`` line, or "the (correct/final/best) answer is (X)",
    "the answer is: X", "the correct option/choice is X", "X is the correct answer", "the
    closest is (X)", "…, which is choice (X)";
  - a final answer given as an option's text ("The answer is (-9)" where B is "–9");
  - ``\\boxed{X}``;
  - a line that says only "The answer is:" / "Final answer:" followed by a line starting with
    the letter (the one two-line form; every other pattern stays within one line);
  - the last non-empty line being just the letter (``C``, ``(C)``, ``C.``) or the letter and its
    option text (``C) 42``), unless the line before it ends with ``:`` (a list of options).

*No answer* (never a guess): a response with no stated choice (letters met on the way, as in
"Let's analyse each option:\\n\\nA. …", are not one); a last statement that is not one option
("The answer is (None of these)", "(Cannot be determined)", a value that is no option's text,
"The answer is (E), (F) and (H)"); a stated letter that is not an option ("(G)" with five
options), which is never a reason to look for weaker evidence.
"""

from __future__ import annotations

import re

# Markup that wraps a letter without changing it, removed before matching.
_COMMANDS = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|mbox|emph|fbox)\s*\{([^{}]*)\}")
_DELIMITERS = re.compile(r"\\[()\[\]]|\$+|\*+|`+|(?<!\w)__|__(?!\w)")
_LETTER = r"[(\[{]?[ \t]*(?-i:([A-Z]))[ \t]*[)\]}]?(?![A-Za-z0-9])"
_LEAD = r"(?:[(\[][ \t]*(?=(?:option|choice|letter)))?(?:option|choice|letter)?[ \t]*"
_STATED = [
    # "ANSWER: C", "**Final Answer:** (C)", "Answer - C" at the start of a line.
    ("answer-line", re.compile(
        r"(?im)^[ \t>#\-]*(?:the[ \t]+)?(?:final[ \t]+|correct[ \t]+|best[ \t]+)?answer[ \t]*(?:[:：]|-|=)[ \t]*"
        + _LEAD + _LETTER)),
    # "the answer is (C)", "The correct answer is: D. …", "the answer that best fits is (G)".
    ("answer-is", re.compile(
        r"(?i)\b(?:final[ \t]+|correct[ \t]+|best[ \t]+|right[ \t]+)?answer"
        r"(?:[ \t]+(?:that|which)[ \t][^.\n(]{0,60}?)?[ \t]+(?:is|should[ \t]+be)"
        r"[ \t]*(?:[:：][ \t]*)?" + _LEAD + r"\\?(?:boxed\{)?[ \t]*" + _LETTER)),
    # "the correct option is B", "the best choice is (C)".
    ("option-is", re.compile(
        r"(?i)\b(?:correct|right|best|final)[ \t]+(?:option|choice)[ \t]+is[ \t]*(?:[:：][ \t]*)?" + _LEAD + _LETTER)),
    # "C is the correct answer", "(B) is the best option".
    ("is-the-answer", re.compile(
        r"(?i)(?:^|[ \t(])(?:option[ \t]+|choice[ \t]+)?[(\[]?(?-i:([A-Z]))[)\]]?[ \t]+is[ \t]+the[ \t]+"
        r"(?:correct|right|best|final)[ \t]+(?:answer|option|choice)", re.M)),
    ("boxed", re.compile(r"\\boxed[ \t]*\{[ \t]*" + _LETTER)),
    # "The answer is not among the choices, but the closest is (C).", "…3.5 m/s, which is choice (E)."
    ("closest", re.compile(
        r"(?i)\bclosest(?:[ \t]+(?:answer|option|choice|one))?(?:[ \t]+(?:choice|option))?[ \t]+is[ \t]*"
        r"(?:[:：][ \t]*)?" + _LEAD + _LETTER)),
    ("which-is-option", re.compile(
        r"(?i)\bwhich[ \t]+(?:is[ \t]+(?:option|choice)|would[ \t]+be(?:[ \t]+(?:option|choice))?)[ \t]+" + _LETTER)),
]
# A final answer stated as something other than one letter: "The answer is (None of these)",
# "the answer is (-9)" (an option's text: that option), "The answer is (E), (F) and (H)". It is a final
# statement too: when it comes last, a letter stated before it (often for an example question) does not count.
_ANSWER_IS = (r"(?i)\b(?:final[ \t]+|correct[ \t]+|closest[ \t]+)?answer"
              r"(?:[ \t]+is[ \t]*(?:[:：][ \t]*)?|[ \t]*[:：][ \t]*)")
_STATED_VALUE = re.compile(_ANSWER_IS + r"(?:\(([^()\n]{1,80})\)|([^()\n]{1,60}?))(?=\.[ \t]|\.?[ \t]*$|,|\n)", re.M)
_STATED_NONE = re.compile(
    _ANSWER_IS + r"(?:none[ \t]+of[ \t]+the|not[ \t]+(?:among|listed|one[ \t]+of|in[ \t]+the|provided|given)"
    r"|cannot[ \t]+be[ \t]+determined)")
_SEVERAL = re.compile(_ANSWER_IS + r"\((?-i:[A-Z])\)(?:[ \t]*(?:,|and|or|&)[ \t]*\((?-i:[A-Z])\))+")
_JUST_A_LETTER = re.compile(r"(?i)^[ \t]*(?:option[ \t]+|choice[ \t]+|letter[ \t]+)?[(\[]?(?-i:[A-Z])(?![A-Za-z0-9])")


def _same_text(a: str, b: str) -> bool:
    def norm(x: str) -> str:
        return re.sub(r"[\s$]", "", x).replace("\u2013", "-").replace("\u2212", "-").rstrip(".").lower()

    return norm(a) == norm(b) and norm(a) != ""


_ANSWER_LEAD_LINE = re.compile(
    r"(?i)^[ \t>#\-]*(?:so[ \t,]+|therefore[ \t,]+|thus[ \t,]+|hence[ \t,]+)?(?:the[ \t]+|my[ \t]+)?"
    r"(?:(?:(?:final|correct|best|right)[ \t]+)?answer(?:[ \t]+is)?|(?:final|correct|best|right)[ \t]+(?:option|choice)(?:[ \t]+is)?|(?:i|we)[ \t]+(?:pick|choose|select|go[ \t]+with)|my[ \t]+(?:choice|pick)(?:[ \t]+is)?)"
    r"[ \t]*[:：]?[ \t]*$")
_LETTER_LINE = re.compile(r"^[ \t]*(?:option[ \t]+)?[(\[]?(?-i:([A-Z]))(?:[)\].:][ \t]*(.*)|[ \t]*)$", re.I)


def look_through(text: str) -> str:
    """The text with LaTeX and Markdown wrappers removed (line breaks kept)."""
    previous = None
    while previous != text:  # nested wrappers: \text{\textbf{C}}
        previous, text = text, _COMMANDS.sub(r"\1", text)
    return _DELIMITERS.sub("", text)


def extract_choice(text: str, letters: str, options: list[str] | None = None) -> tuple[str | None, str]:
    """(letter, method); (None, "no-answer") or (None, "out-of-range:X") when nothing valid is stated.

    ``options`` (the option texts in the order shown) lets a final answer stated as an option's
    text ("The answer is (-9)" where B is "–9") count as that option.
    """
    plain = look_through(text)
    stated: list[tuple[int, str | None, str]] = []  # (position, letter or None for "no choice", method)
    for method, pattern in _STATED:
        stated += [(m.start(1), m.group(1), method) for m in pattern.finditer(plain)]
    for m in _STATED_VALUE.finditer(plain):
        value = m.group(1) if m.group(1) is not None else m.group(2)
        if _JUST_A_LETTER.match(value):
            continue  # a letter: the patterns above read it
        matching = [i for i, option in enumerate(options or []) if _same_text(value, option)]
        if len(matching) == 1 and matching[0] < len(letters):
            stated.append((m.start(), letters[matching[0]], "option-text"))
        elif m.group(1) is not None:  # "(None of these)", "(Cannot be determined)", "(-9)" matching nothing
            stated.append((m.end() - 1, None, "not-an-option"))
    stated += [(m.end() - 1, None, "not-an-option") for m in _STATED_NONE.finditer(plain)]
    stated += [(m.end() - 1, None, "several") for m in _SEVERAL.finditer(plain)]
    lines = plain.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    for i, line in enumerate(lines[:-1]):  # "The answer is:\n\n**C. 42**"
        if _ANSWER_LEAD_LINE.match(line.rstrip("\r\n")):
            following = next(((j, x) for j, x in enumerate(lines[i + 1:], i + 1) if x.strip()), None)
            if following is not None:
                found = _LETTER_LINE.match(following[1].rstrip("\r\n"))
                if found:
                    stated.append((offsets[following[0]], found.group(1), "answer-next-line"))
    if stated:
        _, letter, method = max(stated, key=lambda s: s[0])
        if letter is None:
            return None, "no-answer"
        return (letter, method) if letter in letters else (None, f"out-of-range:{letter}")
    nonempty = [line.strip() for line in lines if line.strip()]
    if nonempty:
        found = _LETTER_LINE.match(nonempty[-1])
        listing = len(nonempty) > 1 and (nonempty[-2].endswith(":") or _LETTER_LINE.match(nonempty[-2]) is not None)
        if found and not listing:
            letter = found.group(1)
            return (letter, "last-line") if letter in letters else (None, f"out-of-range:{letter}")
    return None, "no-answer"
