// The app's log: spdlog with a rotating file sink (5 MB × 3) under AppDataLocation/logs/fluxscope.log, installed as
// spdlog's default logger so the engine's own spdlog lines land in the same file.
#pragma once

#include <QString>

namespace flux::ui {

// Where the log file lives (AppDataLocation + "/logs/fluxscope.log").
QString logFilePath();
// Installs the file logger (plus stderr) as the default logger; idempotent. False if the file cannot be opened
// (the default console logger then stays).
bool installAppLogger();
// Flushes and returns the last `max_bytes` of the log file (for Help → Show Log).
QString readLogTail(qint64 max_bytes = 1 << 20);

}  // namespace flux::ui
