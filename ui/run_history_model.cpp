#include "ui/run_history_model.h"

namespace flux::ui {

int RunHistoryModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : count();
}

QVariant RunHistoryModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= count()) return {};
  const engine::RunReport& r = report(index.row());
  if (role == Qt::DisplayRole) {
    const QString route =
        QString::fromStdString(r.settings.route) +
        (r.settings.overrides.empty() ? QString()
                                      : QStringLiteral(" +") + QString::fromStdString(r.settings.overrides));
    // Short lines rather than one long one that a narrow dock would clip.
    return tr("#%1 %2 · %3%4\n%5 prompt + %6 new tokens\nTTFT %7 ms · %8 tok/s")
        .arg(index.row() + 1)
        .arg(QString::fromStdString(r.started_at).mid(11, 8), route,
             r.status == "ok" ? QString() : QStringLiteral(" (%1)").arg(QString::fromStdString(r.status)))
        .arg(r.prompt_tokens)
        .arg(r.tokens.size())
        .arg(r.summary.ttft_ms, 0, 'f', 0)
        .arg(r.summary.decode_tokens_per_s, 0, 'f', 1);
  }
  if (role == Qt::ToolTipRole)
    return tr("%1 on %2 (%3) — select one run to show it, two to compare them")
        .arg(QString::fromStdString(r.model_name), QString::fromStdString(r.backend), QString::fromStdString(r.device));
  return {};
}

void RunHistoryModel::add(const engine::RunReport& report) {
  beginInsertRows({}, count(), count());
  reports_.push_back(report);
  endInsertRows();
}

}  // namespace flux::ui
