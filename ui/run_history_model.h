// The run history as a list model (oldest first): one row per RunEntry — a single run or the N runs of a
// Repeat ×N — showing time, route kind and parameters, status and speed (medians for repeats).
#pragma once

#include <QAbstractListModel>

#include <vector>

#include "engine/runtime/run_report.h"
#include "ui/run_entry.h"

namespace flux::ui {

class RunHistoryModel : public QAbstractListModel {
  Q_OBJECT
 public:
  using QAbstractListModel::QAbstractListModel;
  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

  void add(RunEntry entry);  // moved in: a report opened from a file is not copied again
  // Older entries (the runs folder read at start) before the ones already listed.
  void prepend(const std::vector<RunEntry>& entries);
  void add(const engine::RunReport& report, const std::string& prompt = {});
  const RunEntry& entry(int row) const { return entries_.at(static_cast<std::size_t>(row)); }
  // The run shown for the row (the entry's last).
  const engine::RunReport& report(int row) const { return entry(row).shown(); }
  int count() const { return static_cast<int>(entries_.size()); }

 private:
  std::vector<RunEntry> entries_;
};

}  // namespace flux::ui
