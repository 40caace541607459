// Uploaded images: the hosted API's two-step upload (a ticket from POST /api/v3/media/uploads, then
// the bytes by PUT to the ticket's URL), data: URIs, and the mapping from an image URL in a request
// back to a file. Files live in <data>/uploads/<id>/<name>; a URL never names a path, only an id
// looked up in the job store, so no request can reach outside that folder.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>
#include <string>

#include "serve/job.h"
#include "serve/job_store.h"
#include "serve/limits.h"

namespace rayvid::serve {

class MediaStore {
 public:
  MediaStore(std::filesystem::path dir, JobStore& store, const Limits& limits);

  // POST body {"filename", "size", "content_type"?}: checked, recorded, returned as a ticket.
  Upload create_ticket(const nlohmann::json& body);
  // The PUT: the declared size, an image rayvid can read (format, pixel count), written atomically.
  void receive(const std::string& id, const std::string& bytes);
  // The file behind GET /media/<id>/<name>; nullopt for anything not a completed upload.
  std::optional<std::filesystem::path> find(const std::string& id,
                                            const std::string& filename) const;

  // An image field's value: a data: URI (stored as an upload), this server's path
  // /media/<id>/<name>, or a URL of it whose authority is one of `own_authorities`
  // ("127.0.0.1:8188", the Host header). Anything else is a 400 naming the field: rayvid serve
  // fetches nothing remote.
  std::filesystem::path resolve_image(const std::string& field, const std::string& value,
                                      const std::set<std::string>& own_authorities);

  static std::string url_path(const Upload& upload) {
    return "/media/" + upload.id + "/" + upload.filename;
  }

 private:
  std::filesystem::path path_of(const Upload& upload) const;
  std::filesystem::path local_media(const std::string& field, const std::string& path) const;
  void check_image(const std::string& field, const std::string& bytes) const;
  std::filesystem::path dir_;
  JobStore& store_;
  Limits limits_;
};

}  // namespace rayvid::serve
