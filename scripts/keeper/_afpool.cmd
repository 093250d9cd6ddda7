rem afpool's CGRU Keeper entries: what they share. Keeper lists no file whose name starts
rem with "_", so this is called by the entries, never shown. `afpool keeper install` writes
rem the path of the installing afpool binary into AFPOOL_INSTALLED_BIN below.

set "AFPOOL_INSTALLED_BIN="
if not defined AFPOOL_BIN if defined AFPOOL_INSTALLED_BIN set "AFPOOL_BIN=%AFPOOL_INSTALLED_BIN%"
if not defined AFPOOL_BIN set "AFPOOL_BIN=afpool"
if not defined AFPOOL_WEB_URL set "AFPOOL_WEB_URL=http://127.0.0.1:51180/"
