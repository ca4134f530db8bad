"""The C library that loads plan files on phones and Linux devices (include/edgerun_runtime.h, src/) and its
build (build.py); the file format is PLAN_FORMAT.md, the writer platforms/planfile.py."""
