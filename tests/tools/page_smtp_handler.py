"""An aiosmtpd handler for the paging tests (tests/unit/test_page.c).

Run as: python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c page_smtp_handler.Save
DIR [CODES] with this folder on PYTHONPATH. Each message accepted is
saved raw, exactly as it came after DATA, to DIR/N.eml, and its envelope
(MAIL FROM, RCPT TO) to DIR/N.json. CODES (e.g. "451,550") are the replies
to the first messages' DATA, in order; 250 accepts.
"""
import json
import os


class Save:
    def __init__(self, directory, codes):
        self.directory = directory
        self.codes = codes
        self.count = 0

    @classmethod
    def from_cli(cls, parser, *args):
        if not 1 <= len(args) <= 2:
            parser.error("usage: DIR [CODES]")
        codes = [int(c) for c in args[1].split(",") if c] if len(args) == 2 else []
        return cls(args[0], codes)

    async def handle_DATA(self, server, session, envelope):
        code = self.codes.pop(0) if self.codes else 250
        if code != 250:
            return "%d test refusal" % code
        self.count += 1
        base = os.path.join(self.directory, str(self.count))
        with open(base + ".json.tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 OK"
