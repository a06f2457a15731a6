#include "ui/app_log.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace flux::ui {

QString logFilePath() {
  return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/logs/fluxscope.log");
}

bool installAppLogger() {
  static bool installed = false;
  if (installed) return true;
  const QString path = logFilePath();
  if (!QDir().mkpath(QFileInfo(path).path())) return false;
  try {
    auto file = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(path.toStdString(), 5 * 1024 * 1024, 3);
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_level(spdlog::level::warn);
    auto logger = std::make_shared<spdlog::logger>("fluxscope", spdlog::sinks_init_list{file, console});
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
  } catch (const spdlog::spdlog_ex&) {
    return false;
  }
  installed = true;
  spdlog::info("FluxScope log opened");
  return true;
}

QString readLogTail(qint64 max_bytes) {
  spdlog::default_logger()->flush();
  QFile f(logFilePath());
  if (!f.open(QIODevice::ReadOnly)) return {};
  if (f.size() > max_bytes) f.seek(f.size() - max_bytes);
  return QString::fromUtf8(f.readAll());
}

}  // namespace flux::ui
