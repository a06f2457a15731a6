#include "ui/run_history_model.h"

#include "ui/route_label.h"

namespace flux::ui {

int RunHistoryModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : count();
}

QVariant RunHistoryModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= count()) return {};
  const RunEntry& e = entry(index.row());
  const engine::RunReport& r = e.shown();
  if (role == Qt::DisplayRole) {
    const QString status = r.status == "ok" ? QString() : QStringLiteral(" (%1)").arg(QString::fromStdString(r.status));
    // Short lines rather than one long one that a narrow dock would clip.
    const QString head = tr("#%1 %2 · %3%4")
                             .arg(index.row() + 1)
                             .arg(QString::fromStdString(r.started_at).mid(11, 8), routeLabel(r), status);
    const QString tokens = tr("%1 prompt + %2 new tokens").arg(r.prompt_tokens).arg(r.tokens.size());
    if (r.status != "ok")  // a stopped run has no TTFT or speed: say what ran
      return tr("%1\n%2\nstopped after %3 layers and %4 tokens")
          .arg(head, tokens)
          .arg(r.layers.size())
          .arg(r.tokens.size());
    if (e.size() == 1)
      return tr("%1\n%2\nTTFT %3 ms · %4 tok/s")
          .arg(head, tokens)
          .arg(r.summary.ttft_ms, 0, 'f', 0)
          .arg(r.summary.decode_tokens_per_s, 0, 'f', 1);
    const Spread p = e.prefillMs();
    const Spread d = e.decodeMsPerToken();
    return tr("%1 · ×%2\n%3\nprefill %4 ms (%5–%6) · decode %7 ms/tok (%8–%9)")
        .arg(head)
        .arg(e.size())
        .arg(tokens)
        .arg(p.median, 0, 'f', 0)
        .arg(p.min, 0, 'f', 0)
        .arg(p.max, 0, 'f', 0)
        .arg(d.median, 0, 'f', 1)
        .arg(d.min, 0, 'f', 1)
        .arg(d.max, 0, 'f', 1);
  }
  if (role == Qt::ToolTipRole)
    return tr("%1 on %2 (%3)%4\nroute: %5\n— select one entry to show it, two to compare them")
        .arg(QString::fromStdString(r.model_name), QString::fromStdString(r.backend), QString::fromStdString(r.device),
             e.size() > 1 ? tr("; %1 runs of the same configuration: medians and min–max").arg(e.size()) : QString(),
             QString::fromStdString(r.settings.route));
  return {};
}

void RunHistoryModel::add(RunEntry entry) {
  if (entry.runs.empty()) return;
  beginInsertRows({}, count(), count());
  entries_.push_back(std::move(entry));
  endInsertRows();
}

void RunHistoryModel::add(const engine::RunReport& report, const std::string& prompt) {
  add(RunEntry{prompt, {report}, {}});
}

}  // namespace flux::ui

namespace flux::ui {

void RunHistoryModel::prepend(const std::vector<RunEntry>& entries) {
  if (entries.empty()) return;
  beginInsertRows({}, 0, int(entries.size()) - 1);
  entries_.insert(entries_.begin(), entries.begin(), entries.end());
  endInsertRows();
}

}  // namespace flux::ui
