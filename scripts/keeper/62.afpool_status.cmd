rem Name=Pools Proxy Status
rem Icon=info.png

rem afpool: shows what listens on the proxy (51100) and legacy Pool Server (9999) ports, the
rem pools, and every render with its pools (`afpool pool list`, `afpool hosts`).

if exist "%~dp0_setup.cmd" call "%~dp0_setup.cmd"
call "%~dp0_afpool.cmd"

if not "%~1"=="--here" (
   start "Pools Proxy Status" cmd /k ""%~f0" --here"
   exit /b
)
echo Listening (pools proxy 51100, legacy Pool Server 9999):
netstat -an | findstr /c:":51100 " /c:":9999 "
echo.
"%AFPOOL_BIN%" pool list
echo.
"%AFPOOL_BIN%" hosts
