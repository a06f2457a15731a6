#include "ui/progress_text.h"

#include <QObject>

#include <algorithm>
#include <cmath>

namespace flux::ui {

double prefillEtaMs(int layers_done, int n_layers, double elapsed_ms) {
  if (layers_done <= 0 || n_layers <= 0 || elapsed_ms < 0.0) return -1.0;
  const int left = std::max(0, n_layers - layers_done);
  return elapsed_ms / layers_done * left;
}

QString durationText(double ms) {
  if (ms < 1000.0) return QObject::tr("%1 ms").arg(std::lround(ms));
  const double s = ms / 1000.0;
  if (s < 60.0) return QObject::tr("%1 s").arg(s, 0, 'f', 1);
  const long total = std::lround(s);
  return QObject::tr("%1 min %2 s").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
}

QString prefillProgressText(int layers_done, int n_layers, double elapsed_ms) {
  QString text =
      QObject::tr("Prefill %1/%2 layers · %3 elapsed").arg(layers_done).arg(n_layers).arg(durationText(elapsed_ms));
  const double eta = prefillEtaMs(layers_done, n_layers, elapsed_ms);
  if (eta >= 0.0) text += QObject::tr(" · ETA %1").arg(durationText(eta));
  return text;
}

}  // namespace flux::ui
