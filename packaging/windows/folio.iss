; Inno Setup script for Folio on Windows. UNTESTED: written for the three-OS CI workflow
; (.github/workflows/package.yml) and never run on this project's Linux build machines.
; Build the app folder first (packaging\windows\build.ps1 does both steps), then:
;   iscc /DVersion=0.1.0 packaging\windows\folio.iss
; Silent install for IT:   FolioSetup-0.1.0.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /ALLUSERS
; Silent uninstall:        "%ProgramFiles%\Folio\unins000.exe" /VERYSILENT /SUPPRESSMSGBOXES

#ifndef Version
  #define Version "0.1.0"
#endif

[Setup]
AppId={{6B0F3C1E-5D0A-4B8E-9A57-0F0C1D2E3F40}
AppName=Folio
AppVersion={#Version}
AppPublisher=Folio developers
DefaultDirName={autopf}\Folio
DefaultGroupName=Folio
DisableProgramGroupPage=yes
PrivilegesRequiredOverridesAllowed=dialog commandline
OutputDir=..\..\build
OutputBaseFilename=FolioSetup-{#Version}
SetupIconFile=..\..\assets\icons\folio.ico
UninstallDisplayIcon={app}\folio-desktop.exe
Compression=lzma2/normal
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesEnvironment=yes

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked
Name: "addtopath"; Description: "Add the folio command to PATH"; Flags: unchecked

[Files]
Source: "..\..\build\dist\Folio\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\Folio"; Filename: "{app}\folio-desktop.exe"
Name: "{autodesktop}\Folio"; Filename: "{app}\folio-desktop.exe"; Tasks: desktopicon

[Registry]
; Per-machine installs only; a per-user install leaves PATH alone.
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; \
  ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; \
  Check: IsAdminInstallMode; Tasks: addtopath

[Run]
Filename: "{app}\folio-desktop.exe"; Description: "Start Folio"; Flags: nowait postinstall skipifsilent

; The user's collections, chats and settings live in %LOCALAPPDATA%\Folio and are kept on
; uninstall (README: "For IT").
