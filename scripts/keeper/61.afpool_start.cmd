rem Name=Start Pools Proxy
rem Icon=afanasy.png

rem afpool: runs `afpool serve` in a console window (settings from AFPOOL_* variables or the
rem config file AFPOOL_CONFIG); stop it with Ctrl-C.

if exist "%~dp0_setup.cmd" call "%~dp0_setup.cmd"
call "%~dp0_afpool.cmd"

start "Pools Proxy" cmd /k ""%AFPOOL_BIN%" serve %*"
