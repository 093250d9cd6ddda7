rem Name=Manage Pools...
rem Icon=afanasy.png
rem Separator

rem afpool: opens the pools web page (AFPOOL_WEB_URL, default http://127.0.0.1:51180/) in the
rem browser; when the page does not answer, `afpool hosts` in a console window.

if exist "%~dp0_setup.cmd" call "%~dp0_setup.cmd"
call "%~dp0_afpool.cmd"

curl.exe -fsS -o NUL --max-time 3 "%AFPOOL_WEB_URL%" >NUL 2>&1
if %ERRORLEVEL% EQU 0 (
   start "" "%AFPOOL_WEB_URL%"
) else (
   start "Pools" cmd /k ""%AFPOOL_BIN%" hosts %*"
)
