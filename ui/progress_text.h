// Status-bar text for a run in progress: prefill layers done with an ETA extrapolated from the time per layer so
// far, decode tokens done. Pure functions, tested on their own.
#pragma once

#include <QString>

namespace flux::ui {

// Remaining prefill time: the mean time per finished layer times the layers left; < 0 when nothing is known yet.
double prefillEtaMs(int layers_done, int n_layers, double elapsed_ms);
// "Prefill 12/30 layers · 1.2 s elapsed · ETA 1.8 s" (no ETA before the first layer).
QString prefillProgressText(int layers_done, int n_layers, double elapsed_ms);
// "850 ms", "12.3 s", "2 min 05 s".
QString durationText(double ms);

}  // namespace flux::ui
