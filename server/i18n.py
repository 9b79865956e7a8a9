"""The one translation mechanism: every text a person reads, Vietnamese first, English second.

Pages and API errors both take their words from ``MESSAGES``; ``{name}`` fields are filled
from the parameters of the error or page.
"""

from __future__ import annotations

LANGUAGES = ("vi", "en")

MESSAGES: dict[str, dict[str, str]] = {
    # queue engine refusals
    "unknown_service": {
        "vi": "Không có dịch vụ “{service}”. Vui lòng chọn một dịch vụ khác.",
        "en": "There is no service “{service}”. Please choose another service.",
    },
    "unknown_priority": {
        "vi": "Không có đối tượng ưu tiên “{priority}”.",
        "en": "There is no priority class “{priority}”.",
    },
    "unknown_kiosk": {
        "vi": "Không có ki-ốt “{kiosk}” trong cấu hình.",
        "en": "There is no kiosk “{kiosk}” in the configuration.",
    },
    "service_not_at_kiosk": {
        "vi": "Ki-ốt “{kiosk}” không cấp số cho dịch vụ “{service}”.",
        "en": "Kiosk “{kiosk}” does not issue numbers for service “{service}”.",
    },
    "unknown_counter": {
        "vi": "Không có quầy số {counter}.",
        "en": "There is no counter {counter}.",
    },
    "unknown_ticket": {
        "vi": "Không tìm thấy phiếu “{ticket}”.",
        "en": "No ticket “{ticket}” was found.",
    },
    "closed": {
        "vi": "Trung tâm đang ngoài giờ làm việc (giờ làm việc: {open}–{close}). Xin mời quay lại sau.",
        "en": "The centre is closed now (opening hours {open}–{close}). Please come back later.",
    },
    "range_exhausted": {
        "vi": "Đã hết số thứ tự hôm nay cho dịch vụ “{service}” (đã cấp đến số {end}).",
        "en": "Today's numbers for service “{service}” are used up (the last one, {end}, was given).",
    },
    "no_current_ticket": {
        "vi": "Quầy {counter} không có số nào đang được phục vụ.",
        "en": "Counter {counter} has no current ticket.",
    },
    "ticket_not_called": {
        "vi": "Số {number} đã bắt đầu được phục vụ: chỉ số đang được gọi mới gọi lại hoặc đánh vắng mặt được.",
        "en": "Number {number} is already being served: only a called number can be recalled or marked absent.",
    },
    "already_serving": {
        "vi": "Số {number} đã bắt đầu được phục vụ.",
        "en": "Number {number} is already being served.",
    },
    "counter_busy": {
        "vi": "Quầy {counter} đang phục vụ số {number}: hãy kết thúc hoặc chuyển số này trước.",
        "en": "Counter {counter} is serving number {number}: finish or transfer it first.",
    },
    "counter_paused": {
        "vi": "Quầy {counter} đang tạm dừng.",
        "en": "Counter {counter} is paused.",
    },
    "counter_not_paused": {
        "vi": "Quầy {counter} không tạm dừng.",
        "en": "Counter {counter} is not paused.",
    },
    "ticket_not_waiting": {
        "vi": "Số {number} không có trong hàng chờ của quầy {counter}.",
        "en": "Number {number} is not waiting for counter {counter}.",
    },
    "transfer_target_missing": {
        "vi": "Hãy chọn dịch vụ hoặc quầy để chuyển đến.",
        "en": "Choose a service or a counter to transfer to.",
    },
    "transfer_same_counter": {
        "vi": "Không thể chuyển số sang chính quầy {counter}.",
        "en": "A ticket cannot be transferred to its own counter {counter}.",
    },
    # web layer refusals
    "bad_json": {
        "vi": "Nội dung yêu cầu không phải JSON hợp lệ: {detail}",
        "en": "The request body is not valid JSON: {detail}",
    },
    "invalid_field": {
        "vi": "Trường “{field}”: {problem}",
        "en": "Field “{field}”: {problem}",
    },
    "problem_missing": {"vi": "bắt buộc phải có", "en": "is required"},
    "problem_string_type": {"vi": "phải là một chuỗi ký tự", "en": "must be a string"},
    "problem_int_type": {"vi": "phải là một số nguyên", "en": "must be a whole number"},
    "problem_extra_forbidden": {"vi": "không được nhận (kiểm tra chính tả)", "en": "is not accepted (check its spelling)"},
    "problem_string_too_short": {"vi": "không được để trống", "en": "must not be empty"},
    "problem_string_too_long": {"vi": "quá dài", "en": "is too long"},
    "problem_not_object": {"vi": "phải là một đối tượng JSON {…}", "en": "must be a JSON object {…}"},
    "problem_counter_or_service": {"vi": "chỉ chọn một trong “service” hoặc “counter”",
                                   "en": "give exactly one of “service” or “counter”"},
    "unauthorized": {
        "vi": "Cần đăng nhập hoặc mã truy cập (Authorization: Bearer …) cho thao tác này.",
        "en": "This action needs a login or an access token (Authorization: Bearer …).",
    },
    "bad_token": {
        "vi": "Mã truy cập không hợp lệ hoặc đã bị thu hồi.",
        "en": "The access token is not valid or has been revoked.",
    },
    "forbidden_counter": {
        "vi": "Bạn chỉ được thao tác trên quầy {own}, không phải quầy {counter}.",
        "en": "You may act only on counter {own}, not on counter {counter}.",
    },
    "forbidden_role": {
        "vi": "Vai trò “{role}” không được phép thực hiện thao tác này.",
        "en": "The role “{role}” may not do this.",
    },
    "bad_login": {
        "vi": "Sai tên đăng nhập hoặc mật khẩu.",
        "en": "Wrong user name or password.",
    },
    "not_found": {
        "vi": "Không có trang hay địa chỉ “{path}”.",
        "en": "There is no page or endpoint “{path}”.",
    },
    "method_not_allowed": {
        "vi": "Địa chỉ “{path}” không nhận phương thức {method}.",
        "en": "“{path}” does not accept the {method} method.",
    },
    "internal": {
        "vi": "Máy chủ gặp lỗi không mong muốn; thao tác không được thực hiện. Xin thử lại.",
        "en": "The server met an unexpected error; nothing was changed. Please try again.",
    },
    "database_busy": {
        "vi": "Cơ sở dữ liệu đang bận; thao tác không được thực hiện. Xin thử lại sau giây lát.",
        "en": "The database is busy; nothing was changed. Please try again in a moment.",
    },
}


def translate(key: str, language: str = "vi", **params) -> str:
    entry = MESSAGES[key]
    template = entry.get(language) or entry["vi"]
    try:
        return template.format(**params)
    except (KeyError, IndexError):  # a missing parameter must never turn an error into a crash
        return template


def pick_language(accept_language: str | None, default: str = "vi") -> str:
    """The first of our languages named in an Accept-Language header."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return default
