#include "app/cli/sweep_comparison.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace flux::cli {
namespace {

nlohmann::json spread(const std::vector<double>& v) {
  double mean = 0.0, var = 0.0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v) var += (x - mean) * (x - mean);
  return {{"mean", mean},
          {"std", v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0.0},
          {"min", *std::min_element(v.begin(), v.end())},
          {"max", *std::max_element(v.begin(), v.end())},
          {"n", v.size()}};
}

struct Tally {
  int n = 0, correct = 0;
  double accuracy() const { return n > 0 ? static_cast<double>(correct) / n : 0.0; }
};

}  // namespace

nlohmann::json compare_routes(const std::vector<SweepOutcome>& outcomes, const std::vector<std::string>& route_order) {
  std::map<std::string, std::map<std::string, Tally>> acc;     // route → kind → tally
  std::map<std::string, std::pair<double, int>> sa;            // route → (sum, n)
  std::map<std::string, std::map<std::size_t, bool>> correct;  // route → task → correct
  std::map<std::string, std::string> group_of;
  std::set<std::string> kinds;
  std::map<std::size_t, std::string> kind_of;
  for (const auto& o : outcomes) {
    Tally& t = acc[o.route][o.kind];
    t.n += 1;
    t.correct += o.correct;
    sa[o.route].first += o.sa_fraction;
    sa[o.route].second += 1;
    correct[o.route][o.task] = o.correct;
    group_of[o.route] = o.group;
    kinds.insert(o.kind);
    kind_of[o.task] = o.kind;
  }
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> members;
  for (const auto& r : route_order) {
    const std::string g = group_of.contains(r) ? group_of[r] : r;
    if (!members.contains(g)) groups.push_back(g);
    members[g].push_back(r);
  }
  auto route_sa = [&](const std::string& r) { return sa[r].second > 0 ? sa[r].first / sa[r].second : 0.0; };

  nlohmann::json routes = nlohmann::json::array();
  for (const auto& g : groups) {
    const auto& m = members[g];
    nlohmann::json accuracy = nlohmann::json::object(), spreads = nlohmann::json::object();
    std::vector<double> sas;
    for (const auto& r : m) sas.push_back(route_sa(r));
    for (const auto& k : kinds) {
      std::vector<double> per;
      for (const auto& r : m) per.push_back(acc[r][k].accuracy());
      const nlohmann::json s = spread(per);
      accuracy[k] = s["mean"];
      if (m.size() > 1 || m.front() != g) spreads[k] = s;
    }
    nlohmann::json row = {{"route", g}, {"members", m}, {"sa_fraction", spread(sas)["mean"]}, {"accuracy", accuracy}};
    if (!spreads.empty()) {
      row["spread"] = spreads;
      row["sa_fraction_spread"] = spread(sas);
    }
    routes.push_back(row);
  }

  nlohmann::json margins = nlohmann::json::array();
  if (members.contains("router") && members["router"].size() == 1) {
    for (const auto& g : groups) {
      if (g == "router") continue;
      const auto& m = members[g];
      for (const auto& k : kinds) {
        std::vector<double> per_member;
        std::vector<double> diffs;  // paired per task, single baselines
        for (const auto& r : m) {
          per_member.push_back(acc["router"][k].accuracy() - acc[r][k].accuracy());
          if (m.size() == 1 && m.front() == g)
            for (const auto& [task, ok] : correct[r])
              if (kind_of[task] == k && correct["router"].contains(task))
                diffs.push_back(static_cast<double>(correct["router"][task]) - static_cast<double>(ok));
        }
        nlohmann::json row = {{"baseline", g}, {"kind", k}, {"tasks", acc["router"][k].n}};
        if (m.size() == 1 && m.front() == g) {
          row["margin"] = per_member.front();
          row["paired_se"] = diffs.size() > 1
                                 ? spread(diffs)["std"].get<double>() / std::sqrt(static_cast<double>(diffs.size()))
                                 : 0.0;
        } else {
          const nlohmann::json s = spread(per_member);
          row["margin"] = s["mean"];
          row["std"] = s["std"];
          row["min"] = s["min"];
          row["max"] = s["max"];
          row["n_seeds"] = m.size();
        }
        margins.push_back(row);
      }
    }
  }
  return {{"routes", routes}, {"margins", margins}};
}

void print_route_comparison(const nlohmann::json& comparison) {
  std::set<std::string> kinds;
  for (const auto& r : comparison["routes"])
    for (const auto& [k, v] : r["accuracy"].items()) kinds.insert(k);
  std::printf("\n| route | SA fraction |");
  for (const auto& k : kinds) std::printf(" %s accuracy |", k.c_str());
  std::printf("\n|---|---:|");
  for (std::size_t i = 0; i < kinds.size(); ++i) std::printf("---:|");
  std::printf("\n");
  for (const auto& r : comparison["routes"]) {
    const bool group = r.contains("spread");
    const std::string seeds = group ? " (" + std::to_string(r["members"].size()) + " seeds)" : "";
    std::printf("| %s%s | %.3f |", r["route"].get<std::string>().c_str(), seeds.c_str(),
                r["sa_fraction"].get<double>());
    for (const auto& k : kinds) {
      if (!r["accuracy"].contains(k)) {
        std::printf(" |");
      } else if (group) {
        const auto& s = r["spread"][k];
        std::printf(" %.2f ± %.2f (%.2f–%.2f) |", s["mean"].get<double>(), s["std"].get<double>(),
                    s["min"].get<double>(), s["max"].get<double>());
      } else {
        std::printf(" %.2f |", r["accuracy"][k].get<double>());
      }
    }
    std::printf("\n");
  }
  if (!comparison["margins"].empty()) std::printf("\n");
  for (const auto& m : comparison["margins"]) {
    const std::string b = m["baseline"], k = m["kind"];
    if (m.contains("std"))
      std::printf("router − %s (%s accuracy): %+.2f ± %.2f (std over %d seeds; min %+.2f, max %+.2f)\n", b.c_str(),
                  k.c_str(), m["margin"].get<double>(), m["std"].get<double>(), m["n_seeds"].get<int>(),
                  m["min"].get<double>(), m["max"].get<double>());
    else
      std::printf("router − %s (%s accuracy): %+.2f ± %.2f (paired s.e. over %d tasks)\n", b.c_str(), k.c_str(),
                  m["margin"].get<double>(), m["paired_se"].get<double>(), m["tasks"].get<int>());
  }
}

}  // namespace flux::cli
