#include "ui/route_label.h"

#include <QStringList>

#include "engine/routing/route_spec.h"

namespace flux::ui {

QString attentionLabel(const engine::AttentionPlan& p) {
  const QString kind = QString::fromLatin1(engine::attention_mode_name(p.mode));
  switch (p.mode) {
    case engine::AttentionMode::XAttention:
      // 6 significant digits: a float's 0.9 reads "0.9", not its double expansion.
      return QStringLiteral("%1 tau%2 stride%3 block%4")
          .arg(kind, QString::number(double(p.threshold), 'g', 6))
          .arg(p.stride)
          .arg(p.block);
    case engine::AttentionMode::Streaming:
      return QStringLiteral("%1 sink%2 window%3").arg(kind).arg(p.sink).arg(p.window);
    case engine::AttentionMode::Triangle:
      return QStringLiteral("%1 sink%2 window%3 n_last%4").arg(kind).arg(p.sink).arg(p.window).arg(p.n_last);
    default:
      return kind;
  }
}

QString routeLabel(const engine::RunReport& r) {
  QString preset;
  try {
    preset = QString::fromStdString(engine::parse_route_spec(r.settings.route).preset);
  } catch (const std::exception&) {
    preset = QString::fromStdString(r.settings.route);  // an old or hand-edited report: show what it says
  }
  QStringList parts = {preset};
  bool any_sa = false, any_fa = false;
  for (const auto& l : r.layers) (l.mode == engine::LayerMode::SA ? any_sa : any_fa) = true;
  if (any_sa || r.layers.empty()) parts << QStringLiteral("sa:") + attentionLabel(r.sparse);
  if (any_fa && r.dense.mode != engine::AttentionMode::Full) parts << QStringLiteral("fa:") + attentionLabel(r.dense);
  if (r.sparse.decode == engine::DecodeMode::Reference) parts << QStringLiteral("decode:reference");
  if (!r.settings.overrides.empty()) parts << QStringLiteral("+") + QString::fromStdString(r.settings.overrides);
  return parts.join(QStringLiteral(" · "));
}

}  // namespace flux::ui
