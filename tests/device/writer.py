"""A child process for the crash tests: enqueue records forever, printing each id after its commit.

python writer.py DATA_DIR [--fsize-limit BYTES]
"""

from __future__ import annotations

import resource
import signal
import sys
from pathlib import Path

from yoshin.device.appliance import Appliance
from yoshin.device.outbox import QueueFull
from yoshin.domain import examples
from yoshin.protocol.api import new_record_id

data_dir = Path(sys.argv[1])
if "--fsize-limit" in sys.argv:
    limit = int(sys.argv[sys.argv.index("--fsize-limit") + 1])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
outbox = Appliance(data_dir).outbox()
print("ready", flush=True)
while True:
    record_id = new_record_id()
    try:
        outbox.enqueue("questionnaire_response", examples.questionnaire_response(record_id))
    except QueueFull as error:
        print(f"full {error.message.en}", flush=True)
        sys.exit(3)
    print(record_id, flush=True)
