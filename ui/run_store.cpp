#include "ui/run_store.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QUuid>

#include <algorithm>
#include <climits>
#include <map>
#include <mutex>

#include "engine/core/error.h"

namespace flux::ui {
namespace {

std::mutex g_folder_mutex;
QString g_folder;

nlohmann::json runFileJson(const RunEntry& e, int i) {
  nlohmann::json j = e.runs[static_cast<std::size_t>(i)].to_json();
  j["app"] = {{"prompt", e.prompt}, {"group", e.group}, {"group_index", i}, {"group_size", e.size()}};
  return j;
}

// The run of one file and its app fields.
struct RunFile {
  engine::RunReport report;
  std::string prompt, group;
  QString name;
  qint64 written_ms = 0;  // the file's modification time: orders runs that started in the same second
};

RunFile parseRunFile(const QString& path) {
  QFile f(path);
  engine::require(f.open(QIODevice::ReadOnly), "cannot read “{}”: {}", path.toStdString(),
                  f.errorString().toStdString());
  const QByteArray bytes = f.readAll();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception&) {
    engine::fail(
        "“{}” is not a JSON file: FluxScope reports are the .json files of File → Export Report… (or "
        "the command line's export)",
        QFileInfo(path).fileName().toStdString());
  }
  RunFile out;
  try {
    out.report = engine::RunReport::from_json(j);
  } catch (const std::exception& e) {
    engine::fail("“{}” is not a FluxScope run report ({})", QFileInfo(path).fileName().toStdString(), e.what());
  }
  if (j.contains("app") && j["app"].is_object()) {
    out.prompt = j["app"].value("prompt", "");
    out.group = j["app"].value("group", "");
  }
  out.name = QFileInfo(path).fileName();
  out.written_ms = QFileInfo(path).lastModified().toMSecsSinceEpoch();
  return out;
}

}  // namespace

QString RunStore::defaultFolder() {
  {
    const std::lock_guard lock(g_folder_mutex);
    if (!g_folder.isEmpty()) return g_folder;
  }
  return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/runs");
}

void RunStore::setDefaultFolder(const QString& folder) {
  const std::lock_guard lock(g_folder_mutex);
  g_folder = folder;
}

QString RunStore::save(const RunEntry& e) const {
  if (!QDir().mkpath(folder_)) return QObject::tr("Cannot create the runs folder %1").arg(folder_);
  const QString id = QUuid::createUuid().toString(QUuid::Id128).left(8);
  for (int i = 0; i < e.size(); ++i) {
    // The start time first, so the names sort by time; the id keeps runs of the same second apart.
    QString stamp = QString::fromStdString(e.runs[static_cast<std::size_t>(i)].started_at);
    stamp.replace(QLatin1Char(':'), QLatin1Char('-'));
    const QString path = QDir(folder_).filePath(QStringLiteral("%1-%2-%3.json").arg(stamp, id).arg(i));
    QFile f(path);
    const std::string text = runFileJson(e, i).dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
        f.write(text.data(), qint64(text.size())) != qint64(text.size()) || !f.flush())
      return QObject::tr("Cannot write the run file %1: %2").arg(path, f.errorString());
  }
  return {};
}

std::vector<RunEntry> RunStore::load(QStringList* skipped) const {
  Loaded all = load(INT_MAX);
  if (skipped) *skipped << all.skipped;
  return std::move(all.entries);
}

RunStore::Loaded RunStore::load(int keep) const {
  Loaded out;
  QStringList names = QDir(folder_).entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
  names.erase(std::remove_if(names.begin(), names.end(),
                             [](const QString& n) { return n.endsWith(kNeedleGridSuffix); }),  // grids, not runs
              names.end());
  // The names start with the run's start time: the first ones are the oldest.
  while (names.size() > keep) {
    if (QFile::remove(QDir(folder_).filePath(names.front()))) ++out.removed;
    names.removeFirst();
  }
  QStringList* skipped = &out.skipped;
  std::vector<RunFile> files;
  for (const QString& name : names) {
    try {
      files.push_back(parseRunFile(QDir(folder_).filePath(name)));
    } catch (const std::exception& e) {
      if (skipped) *skipped << QString::fromStdString(e.what());
    }
  }
  // started_at has whole seconds and the names break its ties by a random id, so runs of one second (a quick
  // Repeat after another run) are ordered by when their files were written; a Repeat's runs are written together.
  std::stable_sort(files.begin(), files.end(), [](const RunFile& a, const RunFile& b) {
    if (a.report.started_at != b.report.started_at) return a.report.started_at < b.report.started_at;
    return a.written_ms < b.written_ms;
  });
  std::vector<RunEntry> entries;
  std::map<std::string, std::size_t> entry_of_group;
  for (RunFile& f : files) {
    if (!f.group.empty()) {
      if (auto it = entry_of_group.find(f.group); it != entry_of_group.end()) {
        entries[it->second].runs.push_back(std::move(f.report));
        continue;
      }
      entry_of_group[f.group] = entries.size();
    }
    entries.push_back(RunEntry{std::move(f.prompt), {std::move(f.report)}, std::move(f.group)});
  }
  out.entries = std::move(entries);
  return out;
}

QString RunStore::saveGrid(const NeedleGrid& grid, QString* error) const {
  const auto failed = [&](const QString& why) {
    if (error) *error = why;
    return QString();
  };
  if (!QDir().mkpath(folder_)) return failed(QObject::tr("Cannot create the runs folder %1").arg(folder_));
  QString stamp = QString::fromStdString(grid.started_at);
  stamp.replace(QLatin1Char(':'), QLatin1Char('-'));
  const QString path = QDir(folder_).filePath(stamp + QLatin1Char('-') +
                                              QUuid::createUuid().toString(QUuid::Id128).left(8) + kNeedleGridSuffix);
  const std::string text = needleGridToJson(grid).dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
      f.write(text.data(), qint64(text.size())) != qint64(text.size()) || !f.flush())
    return failed(QObject::tr("Cannot write the needle grid %1: %2").arg(path, f.errorString()));
  return path;
}

QStringList RunStore::grids() const {
  QStringList paths;
  for (const QString& name : QDir(folder_).entryList({QLatin1Char('*') + kNeedleGridSuffix}, QDir::Files, QDir::Name))
    paths << QDir(folder_).filePath(name);
  return paths;
}

NeedleGrid readNeedleGridFile(const QString& path) {
  QFile f(path);
  engine::require(f.open(QIODevice::ReadOnly), "cannot read “{}”: {}", path.toStdString(),
                  f.errorString().toStdString());
  const QByteArray bytes = f.readAll();
  const std::string name = QFileInfo(path).fileName().toStdString();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception&) {
    engine::fail("“{}” is not a JSON file: needle grids are the .needle-grid.json files of the runs folder", name);
  }
  try {
    return needleGridFromJson(j);
  } catch (const std::exception& e) {
    engine::fail("“{}”: {}", name, e.what());
  }
}

RunEntry readReportFile(const QString& path) {
  RunFile f = parseRunFile(path);
  return RunEntry{std::move(f.prompt), {std::move(f.report)}, {}};
}

}  // namespace flux::ui
