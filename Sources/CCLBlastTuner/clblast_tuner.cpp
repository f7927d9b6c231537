#include "heed_clblast_tuner.h"

#include <clblast.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>

namespace {
// Copies `parameters` into malloc'ed arrays the caller frees with heed_clblast_free_parameters.
int export_parameters(const std::unordered_map<std::string, size_t> &parameters, char ***names, size_t **values,
                      size_t *count) {
    const size_t n = parameters.size();
    char **name_array = static_cast<char **>(std::calloc(n == 0 ? 1 : n, sizeof(char *)));
    size_t *value_array = static_cast<size_t *>(std::calloc(n == 0 ? 1 : n, sizeof(size_t)));
    if (name_array == nullptr || value_array == nullptr) {
        std::free(name_array);
        std::free(value_array);
        return static_cast<int>(clblast::StatusCode::kUnknownError);
    }
    size_t index = 0;
    for (const auto &entry : parameters) {
        name_array[index] = strdup(entry.first.c_str());
        value_array[index] = entry.second;
        index++;
    }
    *names = name_array;
    *values = value_array;
    *count = n;
    return 0;
}
}  // namespace

extern "C" int heed_clblast_tune_xgemm(cl_command_queue queue, size_t m, size_t n, size_t k, double fraction,
                                       char ***names, size_t **values, size_t *count) {
    *names = nullptr;
    *values = nullptr;
    *count = 0;
    std::unordered_map<std::string, size_t> parameters;
    try {
        const auto status = clblast::TuneXgemm<float>(&queue, m, n, k, fraction, parameters);
        if (status != clblast::StatusCode::kSuccess) return static_cast<int>(status);
    } catch (...) {
        // Swift cannot unwind C++ exceptions: none may cross this boundary.
        return -10000;
    }
    return export_parameters(parameters, names, values, count);
}

extern "C" int heed_clblast_retrieve(cl_device_id device, const char *kernel, char ***names, size_t **values, size_t *count) {
    *names = nullptr;
    *values = nullptr;
    *count = 0;
    std::unordered_map<std::string, size_t> parameters;
    try {
        const auto status = clblast::RetrieveParameters(device, kernel, clblast::Precision::kSingle, parameters);
        if (status != clblast::StatusCode::kSuccess) return static_cast<int>(status);
    } catch (...) {
        return -10000;
    }
    return export_parameters(parameters, names, values, count);
}

extern "C" void heed_clblast_free_parameters(char **names, size_t *values, size_t count) {
    if (names != nullptr) {
        for (size_t i = 0; i < count; i++) std::free(names[i]);
    }
    std::free(names);
    std::free(values);
}
