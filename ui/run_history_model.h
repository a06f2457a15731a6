// Every finished run of this session as a list model (newest last); rows show time, route, status and speed.
#pragma once

#include <QAbstractListModel>

#include <vector>

#include "engine/runtime/run_report.h"

namespace flux::ui {

class RunHistoryModel : public QAbstractListModel {
  Q_OBJECT
 public:
  using QAbstractListModel::QAbstractListModel;
  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

  void add(const engine::RunReport& report);
  const engine::RunReport& report(int row) const { return reports_.at(static_cast<std::size_t>(row)); }
  int count() const { return static_cast<int>(reports_.size()); }

 private:
  std::vector<engine::RunReport> reports_;
};

}  // namespace flux::ui
