#!/bin/sh
# Every JSON document the project writes is complete or an error: it is made by
# engine_json_dumps() (engine/json.h), never by jansson's json_dumps(), json_dumpf(),
# json_dumpfd() or json_dump_file(), which in jansson 2.14 can drop an object key's bytes
# without an error when memory runs out.
cd "$UNISEC_SRCDIR" || exit 1
command -v git >/dev/null && git rev-parse --git-dir >/dev/null 2>&1 || { echo "SKIP: not a git checkout"; exit 77; }
# (engine/json.[ch] is where the one dump is made, and says why)
found=$(git ls-files '*.c' '*.h' | grep -v -e '^tests/' -e '^engine/json\.[ch]$' |
    xargs grep -nE '\bjson_dump(s|f|fd|_file)[[:space:]]*\(' 2>/dev/null)
if [ -n "$found" ]; then
    echo "$found"
    echo "use engine_json_dumps() (engine/json.h) for these"
    exit 1
fi
echo "every JSON document goes through engine_json_dumps()"
