// The runs folder: one JSON file per run — the engine's report JSON (RunReport::to_json, docs/report-schema.md) plus
// an "app" object with the prompt and the Repeat group — written when a run finishes and read at start, so the
// history survives a restart. Also reads a report file for File → Open Report….
#pragma once

#include <QString>
#include <QStringList>

#include <vector>

#include "ui/needle_grid.h"
#include "ui/run_entry.h"

namespace flux::ui {

class RunStore {
 public:
  // AppDataLocation/runs, unless setDefaultFolder named another (tests).
  static QString defaultFolder();
  static void setDefaultFolder(const QString& folder);

  explicit RunStore(QString folder = defaultFolder()) : folder_(std::move(folder)) {}
  const QString& folder() const { return folder_; }
  // Writes the entry's runs (one file each); the error naming the file, empty on success.
  QString save(const RunEntry& entry) const;
  // Every run file in the folder, oldest first, the runs of one Repeat as one entry. A file that is not a run
  // report is skipped and named in `skipped` (with why), never fatal.
  std::vector<RunEntry> load(QStringList* skipped = nullptr) const;
  // The start of the app: only the newest `keep` run files are read; older ones are removed from the folder.
  struct Loaded {
    std::vector<RunEntry> entries;
    QStringList skipped;
    int removed = 0;  // run files removed (older than the newest `keep`)
  };
  Loaded load(int keep) const;
  // Needle grids (Tools → Needle Sweep…) live next to the runs as "<start>-<id>.needle-grid.json"; the run reader
  // leaves them alone. saveGrid: the file's path, or the error in *error. grids: their paths, oldest first.
  QString saveGrid(const NeedleGrid& grid, QString* error = nullptr) const;
  QStringList grids() const;

 private:
  QString folder_;
};

// A report file (an engine report, or a run file of the runs folder with its prompt) as a history entry; throws
// engine::Error with a message for people when it is not one (not JSON, not a FluxScope report, unreadable).
RunEntry readReportFile(const QString& path);
// A needle grid file; throws engine::Error naming the file when it is not one.
NeedleGrid readNeedleGridFile(const QString& path);
// File names of the runs folder that are needle grids, not runs.
inline const QString kNeedleGridSuffix = QStringLiteral(".needle-grid.json");

}  // namespace flux::ui
