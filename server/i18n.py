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
    "daily_limit_reached": {
        "vi": "Hôm nay đã cấp đủ {limit} số cho dịch vụ “{service}”. Xin mời quay lại vào ngày làm việc tiếp theo.",
        "en": "Today's {limit} numbers for service “{service}” have all been given. Please come back on the next working day.",
    },
    "kiosk_token_required": {
        "vi": "Chỉ ki-ốt đã được ghép mới cấp được số. Cán bộ quản trị: tạo mã bằng "
              "“queuekiosk token create --role kiosk” rồi mở trang ki-ốt một lần với #token=<mã> ở cuối địa chỉ.",
        "en": "Only a paired kiosk can issue numbers. Administrator: create a token with "
              "“queuekiosk token create --role kiosk” and open the kiosk page once with #token=<token> at the end of its address.",
    },
    "unknown_printer": {
        "vi": "Không có máy in “{printer}” trong cấu hình.",
        "en": "There is no printer “{printer}” in the configuration.",
    },
    "never_printed": {
        "vi": "Phiếu “{ticket}” chưa từng được in (không lấy từ ki-ốt có máy in), nên không in lại được.",
        "en": "Ticket “{ticket}” was never printed (it did not come from a kiosk with a printer), so it cannot be reprinted.",
    },
    "no_agent_printer": {
        "vi": "Máy in của ki-ốt “{kiosk}” không do phần mềm ki-ốt điều khiển (cấu hình: driver: agent).",
        "en": "Kiosk “{kiosk}” has no printer driven by a kiosk agent (configure it with driver: agent).",
    },
    "agent_hello_first": {
        "vi": "Phần mềm ki-ốt cần gửi agent.hello trước.",
        "en": "The kiosk agent must send agent.hello first.",
    },
    "too_many_logins": {
        "vi": "Đăng nhập sai quá nhiều lần. Xin chờ vài phút rồi thử lại, hoặc hỏi quản trị viên.",
        "en": "Too many wrong logins. Please wait a few minutes and try again, or ask the administrator.",
    },
    "too_many_tickets": {
        "vi": "Đã lấy quá nhiều số trong thời gian ngắn. Xin chờ một lát rồi thử lại.",
        "en": "Too many numbers were taken in a short time. Please wait a moment and try again.",
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
    "problem_int_parsing": {"vi": "phải là một số nguyên", "en": "must be a whole number"},
    "problem_int_from_float": {"vi": "phải là một số nguyên", "en": "must be a whole number"},
    "problem_greater_than_equal": {"vi": "phải lớn hơn hoặc bằng {ge}", "en": "must be at least {ge}"},
    "problem_invalid": {"vi": "giá trị không hợp lệ", "en": "has a value that is not accepted"},
    "problem_clerk_needs_counter": {"vi": "nhân viên cần chọn quầy làm việc",
                                    "en": "a clerk must choose the counter to work at"},
    "problem_extra_forbidden": {"vi": "không được nhận (kiểm tra chính tả)", "en": "is not accepted (check its spelling)"},
    "problem_string_too_short": {"vi": "không được để trống", "en": "must not be empty"},
    "problem_string_too_long": {"vi": "quá dài", "en": "is too long"},
    "problem_not_object": {"vi": "phải là một đối tượng JSON {…}", "en": "must be a JSON object {…}"},
    "problem_counter_or_service": {"vi": "chỉ chọn một trong “service” hoặc “counter”",
                                   "en": "give exactly one of “service” or “counter”"},
    "problem_less_than_equal": {"vi": "phải nhỏ hơn hoặc bằng {le}", "en": "must be at most {le}"},
    "problem_unknown_display": {"vi": "không có màn hình này (có: {known})",
                                "en": "there is no such display (known: {known})"},
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
    "forbidden_kiosk": {
        "vi": "Mã truy cập này thuộc ki-ốt “{own}”, không dùng được cho ki-ốt “{kiosk}”.",
        "en": "This token belongs to kiosk “{own}” and cannot act as kiosk “{kiosk}”.",
    },
    "forbidden_printer": {
        "vi": "Ki-ốt “{kiosk}” chỉ in lại phiếu trên máy in của chính nó.",
        "en": "Kiosk “{kiosk}” may reprint only on its own printer.",
    },
    "kiosk_token_unbound": {
        "vi": "Việc này cần mã truy cập gắn với một ki-ốt: tạo bằng "
              "“queuekiosk token create --role kiosk --kiosk <tên ki-ốt>”.",
        "en": "This needs a token bound to one kiosk: create it with "
              "“queuekiosk token create --role kiosk --kiosk <kiosk id>”.",
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
    "database_full": {
        "vi": "Ổ đĩa chứa cơ sở dữ liệu đã đầy; thao tác không được thực hiện, không có gì bị thay đổi. "
              "Cán bộ kỹ thuật: giải phóng dung lượng ổ đĩa của máy chủ (bản sao lưu cũ, nhật ký) hoặc kiểm tra "
              "ổ chứa cơ sở dữ liệu; hệ thống tự hoạt động lại khi có chỗ trống.",
        "en": "The disk holding the database is full; nothing was done or changed. IT staff: free disk space "
              "on the server (old backups, logs) or check the database volume; the system resumes by itself "
              "once there is room.",
    },
    # the clerk console, keypad and rating tablet (issue 5)
    "csrf_failed": {
        "vi": "Phiên làm việc đã hết hạn hoặc yêu cầu không đến từ trang của hệ thống; thao tác không được "
              "thực hiện. Hãy tải lại trang.",
        "en": "The session has expired or the request did not come from this system's page; nothing was "
              "changed. Please reload the page.",
    },
    "json_required": {
        "vi": "Yêu cầu này cần nội dung JSON (Content-Type: application/json).",
        "en": "This request needs a JSON body (Content-Type: application/json).",
    },
    "ticket_taken": {
        "vi": "Số {number} vừa được quầy {holder} gọi, không còn trong hàng chờ.",
        "en": "Number {number} has just been called by counter {holder}; it is no longer waiting.",
    },
    "idempotency_key_reused": {
        "vi": "Khóa Idempotency-Key này đã được dùng cho một yêu cầu khác.",
        "en": "This Idempotency-Key was already used for a different request.",
    },
    "problem_idempotency_key": {"vi": "phải gồm 1–100 ký tự ASCII in được, không có dấu cách",
                                "en": "must be 1–100 printable ASCII characters without spaces"},
    "already_rated": {
        "vi": "Số {number} đã được đánh giá. Cảm ơn bạn!",
        "en": "Number {number} has already been rated. Thank you!",
    },
    "rating_closed": {
        "vi": "Không còn nhận đánh giá cho số {number} tại quầy {counter}: chỉ đánh giá được số vừa phục vụ xong, "
              "trong vài phút sau khi kết thúc.",
        "en": "Number {number} can no longer be rated at counter {counter}: only the number just served can be "
              "rated, within a few minutes of the finish.",
    },
    "not_rated": {
        "vi": "Phiếu “{ticket}” chưa được đánh giá.",
        "en": "Ticket “{ticket}” has not been rated.",
    },
    "problem_reasons_when_unsatisfied": {"vi": "chỉ gửi lý do khi chọn “Không hài lòng”",
                                         "en": "reasons go only with “unsatisfied”"},
    "problem_unknown_reason": {"vi": "không có lý do “{reason}” (có: {known})",
                               "en": "there is no reason “{reason}” (known: {known})"},
    "problem_literal_error": {"vi": "phải là một trong: {expected}", "en": "must be one of: {expected}"},
    "problem_list_type": {"vi": "phải là một danh sách […]", "en": "must be a list […]"},
    "problem_too_long": {"vi": "quá nhiều phần tử", "en": "has too many items"},
    # web pages: "page_" shared by every page, then one prefix per page (home_, kiosk_, display_, console_);
    # a page's JavaScript gets the entries of its prefixes through messages_for()
    "page_disconnected": {"vi": "Mất kết nối", "en": "Disconnected"},
    "page_network_error": {
        "vi": "Mất kết nối với máy chủ. Xin vui lòng thử lại hoặc hỏi cán bộ hướng dẫn.",
        "en": "No connection to the server. Please try again or ask a member of staff.",
    },
    "page_not_found": {"vi": "Không tìm thấy trang", "en": "Page not found"},
    "page_unexpected": {
        "vi": "Máy chủ trả lời bất thường (mã {status}). Xin thử lại.",
        "en": "The server gave an unexpected answer (status {status}). Please try again.",
    },
    "page_back_home": {"vi": "Về trang đầu", "en": "Back to the start page"},
    "unknown_display": {
        "vi": "Không có màn hình “{display}” trong cấu hình.",
        "en": "There is no display “{display}” in the configuration.",
    },
    "home_title": {"vi": "Hệ thống xếp hàng lấy số", "en": "Queue ticketing system"},
    "home_kiosks": {"vi": "Ki-ốt lấy số", "en": "Ticket kiosks"},
    "home_displays": {"vi": "Màn hình gọi số", "en": "Lobby displays"},
    "home_counter": {"vi": "Bàn gọi số của cán bộ", "en": "Clerk console"},
    "home_supervisor": {"vi": "Báo cáo và giám sát (lãnh đạo)", "en": "Reports and dashboard (supervisors)"},
    "home_api": {"vi": "Tài liệu API (OpenAPI)", "en": "API documentation (OpenAPI)"},
    "home_none": {"vi": "Chưa cấu hình", "en": "None configured"},
    "kiosk_choose_service": {
        "vi": "Mời chọn dịch vụ để lấy số thứ tự",
        "en": "Please choose a service to get a queue number",
    },
    "kiosk_priority": {"vi": "Đối tượng ưu tiên (nếu có)", "en": "Priority (if any)"},
    "kiosk_no_priority": {"vi": "Không ưu tiên", "en": "No priority"},
    "kiosk_issuing": {"vi": "Đang cấp số…", "en": "Issuing your number…"},
    "kiosk_your_number": {"vi": "Số thứ tự của bạn", "en": "Your number"},
    "kiosk_people_ahead": {"vi": "Số người chờ trước bạn: {n}", "en": "People ahead of you: {n}"},
    "kiosk_eta": {"vi": "Thời gian chờ dự kiến: khoảng {n} phút", "en": "Estimated wait: about {n} minutes"},
    "kiosk_eta_now": {"vi": "Bạn sẽ được gọi ngay", "en": "You will be called shortly"},
    "kiosk_please_wait": {
        "vi": "Xin vui lòng chờ đến khi số của bạn được gọi.",
        "en": "Please wait until your number is called.",
    },
    "kiosk_error_title": {"vi": "Không lấy được số", "en": "No number could be issued"},
    "kiosk_done": {"vi": "Xong", "en": "Done"},
    # the kiosk page (kiosk/static/kiosk.js): header tools, the steps, the result and the notice screens
    "kiosk_language_other": {"vi": "English", "en": "Tiếng Việt"},  # the switch names the other language
    "kiosk_language_label": {"vi": "Chuyển sang tiếng Anh", "en": "Switch to Vietnamese"},
    "kiosk_text_smaller": {"vi": "Giảm cỡ chữ", "en": "Smaller text"},
    "kiosk_text_default": {"vi": "Cỡ chữ mặc định", "en": "Default text size"},
    "kiosk_text_larger": {"vi": "Tăng cỡ chữ", "en": "Larger text"},
    "kiosk_contrast": {"vi": "Tăng tương phản", "en": "High contrast"},
    "kiosk_back": {"vi": "Quay lại", "en": "Back"},
    "kiosk_choose_field": {
        "vi": "Mời chọn lĩnh vực để lấy số thứ tự",
        "en": "Please choose a field to get a queue number",
    },
    "kiosk_field_count": {"vi": "{n} dịch vụ", "en": "{n} services"},
    "kiosk_chosen_service": {"vi": "Dịch vụ: {service}", "en": "Service: {service}"},
    "kiosk_priority_question": {"vi": "Bạn thuộc đối tượng ưu tiên?", "en": "Are you entitled to priority?"},
    "kiosk_priority_none": {"vi": "Không", "en": "No"},
    "kiosk_priority_none_hint": {"vi": "Lấy số thường", "en": "Take a normal number"},
    "kiosk_priority_yes_hint": {
        "vi": "Nếu có, mời chọn đối tượng và xuất trình giấy tờ khi được gọi:",
        "en": "If so, choose which one and show your papers when you are called:",
    },
    "kiosk_priority_mark": {"vi": "Ưu tiên: {name}", "en": "Priority: {name}"},
    "kiosk_take_ticket": {"vi": "Mời nhận phiếu in bên dưới.", "en": "Please take your printed ticket below."},
    "kiosk_no_print": {
        "vi": "Phiếu không được in: hãy ghi nhớ số của bạn hoặc quét mã QR.",
        "en": "No ticket is printed: remember your number or scan the QR code.",
    },
    "kiosk_scan_qr": {
        "vi": "Quét mã QR để theo dõi lượt của bạn trên điện thoại",
        "en": "Scan the QR code to follow your turn on your phone",
    },
    "kiosk_closed_title": {"vi": "Trung tâm đang ngoài giờ làm việc", "en": "The centre is closed now"},
    "kiosk_closed_hours": {
        "vi": "Giờ làm việc: {open} – {close}, {days}.",
        "en": "Opening hours: {open} – {close}, {days}.",
    },
    "kiosk_closed_holiday": {"vi": "Hôm nay là ngày nghỉ.", "en": "Today is a holiday."},
    "kiosk_closed_come_back": {
        "vi": "Xin mời quay lại trong giờ làm việc. Xin cảm ơn!",
        "en": "Please come back during opening hours. Thank you!",
    },
    "kiosk_days_range": {"vi": "{first} đến {last}", "en": "{first} to {last}"},
    "kiosk_day_mon": {"vi": "Thứ Hai", "en": "Monday"},
    "kiosk_day_tue": {"vi": "Thứ Ba", "en": "Tuesday"},
    "kiosk_day_wed": {"vi": "Thứ Tư", "en": "Wednesday"},
    "kiosk_day_thu": {"vi": "Thứ Năm", "en": "Thursday"},
    "kiosk_day_fri": {"vi": "Thứ Sáu", "en": "Friday"},
    "kiosk_day_sat": {"vi": "Thứ Bảy", "en": "Saturday"},
    "kiosk_day_sun": {"vi": "Chủ Nhật", "en": "Sunday"},
    "kiosk_exhausted_title": {"vi": "Đã hết số thứ tự hôm nay", "en": "No more numbers today"},
    "kiosk_exhausted_text": {
        "vi": "Dịch vụ “{service}” đã cấp hết số thứ tự của hôm nay. "
              "Xin mời quay lại vào ngày làm việc tiếp theo hoặc hỏi cán bộ hướng dẫn.",
        "en": "Today's numbers for “{service}” are used up. "
              "Please come back on the next working day or ask a member of staff.",
    },
    "kiosk_system_title": {"vi": "Tạm thời chưa cấp được số", "en": "No number can be issued at the moment"},
    "kiosk_database_busy_text": {
        "vi": "Hệ thống đang bận nên chưa cấp số cho bạn. Xin chạm lại vào dịch vụ sau giây lát.",
        "en": "The system is busy and gave you no number. Please tap your service again in a moment.",
    },
    "kiosk_database_full_text": {
        "vi": "Hệ thống đang gặp sự cố nên chưa cấp số cho bạn. Xin vui lòng báo cán bộ hướng dẫn.",
        "en": "The system has a problem and gave you no number. Please tell a member of staff.",
    },
    "kiosk_offline_title": {"vi": "Mất kết nối với máy chủ", "en": "No connection to the server"},
    "kiosk_offline_text": {
        "vi": "Ki-ốt đang tự kết nối lại. Xin chờ trong giây lát hoặc hỏi cán bộ hướng dẫn.",
        "en": "The kiosk is reconnecting by itself. Please wait a moment or ask a member of staff.",
    },
    "kiosk_printer_banner": {
        "vi": "Máy in tạm thời không in được phiếu ({reason}). "
              "Bạn vẫn lấy số được: hãy ghi nhớ số hoặc quét mã QR trên màn hình.",
        "en": "The printer cannot print tickets at the moment ({reason}). "
              "You can still take a number: remember it or scan the QR code on the screen.",
    },
    "kiosk_printer_reason_paper_out": {"vi": "hết giấy", "en": "out of paper"},
    "kiosk_printer_reason_offline": {"vi": "máy in không hoạt động", "en": "the printer is not responding"},
    # a printer's state (printer.status events), for the supervisor's dashboard
    "printer_state_ready": {"vi": "Sẵn sàng", "en": "Ready"},
    "printer_state_paper_near_end": {"vi": "Sắp hết giấy", "en": "Paper running low"},
    "printer_state_paper_out": {"vi": "Hết giấy", "en": "Out of paper"},
    "printer_state_offline": {"vi": "Mất kết nối máy in", "en": "Printer offline"},
    "printer_state_unknown": {"vi": "Chưa rõ trạng thái", "en": "Status unknown"},
    # the state of the system, for the supervisor's dashboard (sounds/web.py voice_notes)
    "system_voice_clips_only": {
        "vi": "Giọng đọc: chỉ đọc được câu có đoạn ghi âm sẵn; câu nào không có chỉ hiện chữ trên màn hình "
              "(không dùng được chuyển văn bản thành giọng nói). Cán bộ kỹ thuật: cài espeak-ng "
              "(apt-get install espeak-ng).",
        "en": "Voice: only sentences with recorded clips are spoken; any other is shown as text only (text to "
              "speech is not working). IT staff: install espeak-ng (apt-get install espeak-ng).",
    },
    # reporting periods (server/periods.py): labels, and why a period was refused
    "period_day": {"vi": "Ngày {date}", "en": "{date}"},
    "period_week": {"vi": "Tuần {week} năm {year} ({first} – {last})", "en": "Week {week} of {year} ({first} – {last})"},
    "period_month": {"vi": "Tháng {month}/{year}", "en": "{month_name} {year}"},
    "period_quarter": {"vi": "Quý {roman} năm {year}", "en": "Q{quarter} {year}"},
    "period_half_1": {"vi": "6 tháng đầu năm {year}", "en": "First half of {year}"},
    "period_half_2": {"vi": "6 tháng cuối năm {year}", "en": "Second half of {year}"},
    "period_nine_months": {"vi": "9 tháng đầu năm {year}", "en": "First nine months of {year}"},
    "period_year": {"vi": "Năm {year}", "en": "Year {year}"},
    "period_span": {"vi": "Từ {first} đến {last}", "en": "From {first} to {last}"},
    "period_span_day": {"vi": "Ngày {day}", "en": "{day}"},
    "period_basis_nd09": {
        "vi": "Chốt số liệu theo Nghị định 09/2019/NĐ-CP (từ ngày 15 tháng trước đến ngày 14)",
        "en": "Data cut-off of Decree 09/2019/ND-CP (from the 15th of the month before to the 14th)",
    },
    "period_unknown": {
        "vi": "không hiểu kỳ “{value}” (dùng ví dụ 2026-11-20, 2026-W47, 2026-11, 2026-Q4, 2026-H1, 2026-9M, 2026)",
        "en": "“{value}” is not a period (write e.g. 2026-11-20, 2026-W47, 2026-11, 2026-Q4, 2026-H1, 2026-9M, 2026)",
    },
    "period_bad_year": {"vi": "năm {year} nằm ngoài 2000–2100", "en": "the year {year} is outside 2000–2100"},
    "period_bad_basis": {"vi": "phải là một trong: {known}", "en": "must be one of: {known}"},
    "period_bad_date": {"vi": "“{value}” không phải là một ngày có thật", "en": "“{value}” is not a real date"},
    "period_bad_week": {"vi": "năm đó không có tuần “{value}”", "en": "that year has no week “{value}”"},
    "period_bad_moment": {
        "vi": "“{value}” không phải ngày (2026-11-20) hoặc ngày giờ (2026-11-20T22:00)",
        "en": "“{value}” is neither a date (2026-11-20) nor a date and time (2026-11-20T22:00)",
    },
    "period_end_before_start": {"vi": "phải sau thời điểm bắt đầu", "en": "must come after the start"},
    "period_too_long": {"vi": "một báo cáo dài nhất 3 năm", "en": "a report covers at most 3 years"},
    "period_need_both": {"vi": "cần cả “from” và “to”", "en": "needs both “from” and “to”"},
    # reports and their exports (server/reports.py, server/exports.py, the /reports page)
    "report_total": {"vi": "Tổng cộng", "en": "Total"},
    "report_one_of": {"vi": "phải là một trong: {known}", "en": "must be one of: {known}"},
    "report_counter_n": {"vi": "Quầy {number}", "en": "Counter {number}"},
    "report_unknown": {"vi": "(không rõ)", "en": "(unknown)"},
    "report_device": {"vi": "Thiết bị: {name}", "en": "Device: {name}"},
    "report_minutes": {"vi": "{n} phút", "en": "{n} min"},
    "report_text_received": {
        "vi": "{period}, {centre} tiếp nhận {received} lượt công dân lấy số; đã phục vụ {served} lượt ({served_pct}%), "
              "{no_show} lượt vắng mặt khi được gọi, {transferred} lượt được chuyển quầy.",
        "en": "{period}, {centre} received {received} citizens; {served} were served ({served_pct}%), {no_show} were "
              "absent when called and {transferred} were transferred.",
    },
    "report_text_expired": {
        "vi": "{expired} lượt hết hạn cuối ngày khi vẫn đang chờ.",
        "en": "{expired} tickets expired at the end of the day while still waiting.",
    },
    "report_text_wait": {
        "vi": "Thời gian chờ trung bình {wait}; {early} lượt được phục vụ trước hạn, {on_time} lượt đúng hạn, {late} "
              "lượt trễ hạn so với thời gian chờ mục tiêu ({met_pct}% đạt mục tiêu).",
        "en": "The average wait was {wait}; {early} citizens were called early, {on_time} on time and {late} late "
              "against the target wait ({met_pct}% within the target).",
    },
    "report_text_ratings": {
        "vi": "Có {total} lượt đánh giá, tỷ lệ hài lòng {pct}% ({very} rất hài lòng, {satisfied} hài lòng, "
              "{unsatisfied} không hài lòng).",
        "en": "{total} ratings, {pct}% satisfied ({very} very satisfied, {satisfied} satisfied, {unsatisfied} not "
              "satisfied).",
    },
    "report_text_peak": {
        "vi": "Giờ cao điểm: {hour} (trung bình {per_day} lượt/ngày).",
        "en": "Busiest hour: {hour} ({per_day} citizens a day on average).",
    },
    "report_text_peak_day": {
        "vi": "Giờ cao điểm: {hour} ({n} lượt lấy số).",
        "en": "Busiest hour: {hour} ({n} citizens).",
    },
    "report_title_summary": {"vi": "Báo cáo tình hình phục vụ theo {group}", "en": "Service report by {group}"},
    "report_title_peak": {"vi": "Lượt lấy số và người chờ theo giờ (giờ cao điểm)", "en": "Arrivals and waiting by hour (peak hours)"},
    "report_title_daily": {"vi": "Tổng hợp tình hình tiếp nhận và phục vụ", "en": "Summary of citizens received and served"},
    "report_group_service": {"vi": "dịch vụ", "en": "service"},
    "report_group_counter": {"vi": "quầy", "en": "counter"},
    "report_group_clerk": {"vi": "cán bộ", "en": "clerk"},
    "report_group_day": {"vi": "ngày", "en": "day"},
    "report_group_hour": {"vi": "giờ trong ngày", "en": "hour of day"},
    "report_meta_centre": {"vi": "Đơn vị", "en": "Centre"},
    "report_meta_period": {"vi": "Kỳ báo cáo", "en": "Period"},
    "report_meta_span": {"vi": "Thời gian", "en": "Dates"},
    "report_meta_generated": {"vi": "Ngày lập", "en": "Made on"},
    "report_meta_notes": {
        "vi": "Thời gian tính bằng phút. Mỗi lượt tính vào kỳ có giờ lấy số. Đúng hạn: chờ không quá thời gian "
              "mục tiêu của dịch vụ; trước hạn: không quá một nửa thời gian đó.",
        "en": "Times in minutes. Each ticket counts in the period of its issue. On time: a wait within the service's "
              "target; early: within half of it.",
    },
    "report_col_service": {"vi": "Dịch vụ", "en": "Service"},
    "report_col_counter": {"vi": "Quầy", "en": "Counter"},
    "report_col_clerk": {"vi": "Cán bộ", "en": "Clerk"},
    "report_col_day": {"vi": "Ngày", "en": "Day"},
    "report_col_hour": {"vi": "Khung giờ", "en": "Hour"},
    "report_col_issued": {"vi": "Lượt lấy số", "en": "Issued"},
    "report_col_called": {"vi": "Lượt gọi", "en": "Called"},
    "report_col_served": {"vi": "Đã phục vụ", "en": "Served"},
    "report_col_no_show": {"vi": "Vắng mặt", "en": "No-shows"},
    "report_col_no_show_rate": {"vi": "Tỷ lệ vắng mặt (%)", "en": "No-show rate (%)"},
    "report_col_transferred": {"vi": "Chuyển quầy", "en": "Transferred"},
    "report_col_not_called": {"vi": "Chưa được gọi", "en": "Never called"},
    "report_col_expired": {"vi": "Hết hạn cuối ngày", "en": "Expired at end of day"},
    "report_col_wait_avg": {"vi": "Chờ trung bình (phút)", "en": "Wait, average (min)"},
    "report_col_wait_median": {"vi": "Chờ trung vị (phút)", "en": "Wait, median (min)"},
    "report_col_wait_p90": {"vi": "Chờ 90% (phút)", "en": "Wait, 90th percentile (min)"},
    "report_col_wait_max": {"vi": "Chờ lâu nhất (phút)", "en": "Wait, longest (min)"},
    "report_col_target_met": {"vi": "Đạt thời gian chờ mục tiêu", "en": "Within the target wait"},
    "report_col_target_met_pct": {"vi": "Tỷ lệ đạt mục tiêu (%)", "en": "Within target (%)"},
    "report_col_service_avg": {"vi": "Phục vụ trung bình (phút)", "en": "Service, average (min)"},
    "report_col_service_median": {"vi": "Phục vụ trung vị (phút)", "en": "Service, median (min)"},
    "report_col_service_p90": {"vi": "Phục vụ 90% (phút)", "en": "Service, 90th percentile (min)"},
    "report_col_service_max": {"vi": "Phục vụ lâu nhất (phút)", "en": "Service, longest (min)"},
    "report_col_very_satisfied": {"vi": "Rất hài lòng", "en": "Very satisfied"},
    "report_col_satisfied": {"vi": "Hài lòng", "en": "Satisfied"},
    "report_col_unsatisfied": {"vi": "Không hài lòng", "en": "Not satisfied"},
    "report_col_ratings_total": {"vi": "Lượt đánh giá", "en": "Ratings"},
    "report_col_satisfied_pct": {"vi": "% hài lòng", "en": "% satisfied"},
    "report_col_arrivals": {"vi": "Lượt lấy số", "en": "Arrivals"},
    "report_col_arrivals_per_day": {"vi": "Lượt lấy số trung bình/ngày", "en": "Arrivals per day"},
    "report_col_waiting_avg": {"vi": "Số người chờ trung bình", "en": "People waiting, average"},
    "report_col_waiting_max": {"vi": "Số người chờ nhiều nhất", "en": "People waiting, most"},
    "report_col_hour_wait_avg": {"vi": "Thời gian chờ trung bình (phút)", "en": "Average wait (min)"},
    "report_col_received": {"vi": "Tiếp nhận", "en": "Received"},
    "report_col_early": {"vi": "Trước hạn", "en": "Early"},
    "report_col_on_time": {"vi": "Đúng hạn", "en": "On time"},
    "report_col_late": {"vi": "Trễ hạn", "en": "Late"},
    "report_col_item": {"vi": "Chỉ tiêu", "en": "Figure"},
    "report_col_value": {"vi": "Số liệu", "en": "Value"},
    "report_no_ratings": {
        "vi": "Chưa có đánh giá của công dân trong kỳ này.",
        "en": "No ratings from citizens in this period.",
    },
    # the supervisor pages (/reports, /dashboard)
    "sup_reports_title": {"vi": "Báo cáo, thống kê", "en": "Reports"},
    "sup_dashboard_title": {"vi": "Giám sát trực tiếp", "en": "Live dashboard"},
    "sup_login_title": {"vi": "Đăng nhập (lãnh đạo, giám sát)", "en": "Log in (supervisors)"},
    "sup_username": {"vi": "Tên đăng nhập", "en": "User name"},
    "sup_password": {"vi": "Mật khẩu", "en": "Password"},
    "sup_login": {"vi": "Đăng nhập", "en": "Log in"},
    "sup_logout": {"vi": "Đăng xuất", "en": "Log out"},
    "sup_forbidden": {
        "vi": "Tài khoản “{user}” ({role}) không được xem trang này: chỉ lãnh đạo, giám sát (supervisor) và quản trị "
              "(admin) được xem báo cáo và giám sát.",
        "en": "Account “{user}” ({role}) may not see this page: reports and the dashboard are for supervisors and "
              "admins.",
    },
    "sup_period_kind": {"vi": "Kỳ báo cáo", "en": "Period"},
    "sup_kind_day": {"vi": "Ngày", "en": "Day"},
    "sup_kind_week": {"vi": "Tuần", "en": "Week"},
    "sup_kind_month": {"vi": "Tháng", "en": "Month"},
    "sup_kind_quarter": {"vi": "Quý", "en": "Quarter"},
    "sup_kind_half": {"vi": "6 tháng", "en": "Half year"},
    "sup_kind_nine_months": {"vi": "9 tháng", "en": "Nine months"},
    "sup_kind_year": {"vi": "Năm", "en": "Year"},
    "sup_kind_range": {"vi": "Khoảng thời gian", "en": "Any range"},
    "sup_from": {"vi": "Từ", "en": "From"},
    "sup_to": {"vi": "Đến", "en": "To"},
    "sup_basis": {"vi": "Chốt số liệu 15 – 14 (NĐ 09/2019)", "en": "Cut-off 15th – 14th (Decree 09/2019)"},
    "sup_group_by": {"vi": "Thống kê theo", "en": "Group by"},
    "sup_show": {"vi": "Xem báo cáo", "en": "Show"},
    "sup_csv": {"vi": "Tải CSV", "en": "CSV"},
    "sup_xlsx": {"vi": "Tải Excel", "en": "Excel"},
    "sup_print": {"vi": "In", "en": "Print"},
    "sup_loading": {"vi": "Đang tính…", "en": "Working…"},
    "sup_empty": {"vi": "Không có lượt lấy số nào trong kỳ này.", "en": "No tickets in this period."},
    "sup_summary": {"vi": "Tổng hợp kỳ báo cáo", "en": "Summary of the period"},
    "sup_copy": {"vi": "Sao chép đoạn tổng hợp", "en": "Copy the summary"},
    "sup_copied": {"vi": "Đã sao chép", "en": "Copied"},
    "sup_chart_arrivals": {"vi": "Lượt lấy số trung bình mỗi ngày, theo giờ", "en": "Arrivals per day, by hour"},
    "sup_chart_waiting": {"vi": "Số người chờ (trung bình và nhiều nhất), theo giờ",
                          "en": "People waiting (average and most), by hour"},
    "sup_chart_groups": {"vi": "Thời gian chờ và phục vụ trung bình (phút)", "en": "Average wait and service (min)"},
    "sup_to_dashboard": {"vi": "Giám sát trực tiếp", "en": "Live dashboard"},
    "sup_to_reports": {"vi": "Báo cáo", "en": "Reports"},
    "dash_services": {"vi": "Hàng chờ theo dịch vụ", "en": "Queues by service"},
    "dash_waiting": {"vi": "Đang chờ", "en": "Waiting"},
    "dash_priority": {"vi": "ưu tiên", "en": "priority"},
    "dash_longest": {"vi": "Chờ lâu nhất", "en": "Longest wait"},
    "dash_target": {"vi": "mục tiêu {n} phút", "en": "target {n} min"},
    "dash_counters": {"vi": "Các quầy", "en": "Counters"},
    "dash_serving": {"vi": "Đang phục vụ số {number}", "en": "Serving {number}"},
    "dash_called": {"vi": "Đang gọi số {number}", "en": "Calling {number}"},
    "dash_idle": {"vi": "Đang trống", "en": "Idle"},
    "dash_paused": {"vi": "Tạm dừng", "en": "Paused"},
    "dash_for": {"vi": "được {time}", "en": "for {time}"},
    "dash_printers": {"vi": "Máy in", "en": "Printers"},
    "dash_no_printers": {"vi": "Không có máy in nào trong cấu hình.", "en": "No printers are configured."},
    "dash_alerts": {"vi": "Cảnh báo", "en": "Alerts"},
    "dash_no_alerts": {"vi": "Không có cảnh báo.", "en": "No alerts."},
    "dash_alert_wait": {
        "vi": "{service}: có người đã chờ {minutes} phút, quá thời gian mục tiêu {target} phút.",
        "en": "{service}: someone has waited {minutes} min, past the {target} min target.",
    },
    "dash_alert_printer": {"vi": "Máy in {printer}: {state}.", "en": "Printer {printer}: {state}."},
    "dash_today": {"vi": "Hôm nay", "en": "Today"},
    "dash_issued": {"vi": "Đã lấy số", "en": "Issued"},
    "dash_served": {"vi": "Đã phục vụ", "en": "Served"},
    "dash_no_show": {"vi": "Vắng mặt", "en": "No-shows"},
    "dash_wait_avg": {"vi": "Chờ trung bình", "en": "Average wait"},
    "dash_target_met": {"vi": "Đạt mục tiêu", "en": "Within target"},
    "dash_latest": {"vi": "Số vừa gọi", "en": "Latest calls"},
    "display_counter": {"vi": "Quầy", "en": "Counter"},
    "display_now_serving": {"vi": "Số đang phục vụ", "en": "Now serving"},
    "display_latest": {"vi": "Số vừa gọi", "en": "Latest calls"},
    "display_waiting": {"vi": "Đang chờ", "en": "Waiting"},
    "display_paused": {"vi": "Tạm dừng", "en": "Paused"},
    "display_recall": {"vi": "Gọi lại", "en": "Called again"},
    "display_to_counter": {"vi": "Quầy {counter}", "en": "Counter {counter}"},
    "display_callout_invite": {"vi": "Mời công dân có số thứ tự", "en": "Now calling number"},
    "display_callout_counter": {"vi": "đến Quầy {counter}", "en": "please go to counter {counter}"},
    "display_sound_off": {
        "vi": "Âm thanh đang tắt: chạm vào đây để bật",
        "en": "Sound is off: tap here to turn it on",
    },
    "console_title": {"vi": "Bàn gọi số của cán bộ", "en": "Clerk console"},
    "console_login_title": {"vi": "Đăng nhập", "en": "Log in"},
    "console_username": {"vi": "Tên đăng nhập", "en": "User name"},
    "console_password": {"vi": "Mật khẩu", "en": "Password"},
    "console_number": {"vi": "Số quầy", "en": "Counter number"},
    "console_number_hint": {
        "vi": "Để trống nếu tài khoản đã gắn với một quầy",
        "en": "Leave empty if your account belongs to a counter",
    },
    "console_login": {"vi": "Đăng nhập", "en": "Log in"},
    "console_logout": {"vi": "Đăng xuất", "en": "Log out"},
    "console_need_counter": {"vi": "Hãy nhập số quầy bạn làm việc.", "en": "Enter the number of your counter."},
    "console_signed_in": {"vi": "{user} — quầy {counter}", "en": "{user} — counter {counter}"},
    "console_next": {"vi": "Gọi số tiếp theo", "en": "Call next"},
    "console_recall": {"vi": "Gọi lại", "en": "Recall"},
    "console_start": {"vi": "Bắt đầu", "en": "Start"},
    "console_finish": {"vi": "Kết thúc", "en": "Finish"},
    "console_no_show": {"vi": "Vắng mặt", "en": "No-show"},
    "console_pause": {"vi": "Tạm dừng", "en": "Pause"},
    "console_resume": {"vi": "Tiếp tục", "en": "Resume"},
    "console_current": {"vi": "Số đang phục vụ", "en": "Current ticket"},
    "console_no_ticket": {"vi": "Chưa gọi số nào", "en": "No ticket called"},
    "console_status_called": {"vi": "Đang gọi", "en": "Called"},
    "console_status_serving": {"vi": "Đang phục vụ", "en": "Being served"},
    "console_state_open": {"vi": "Quầy đang mở", "en": "Counter open"},
    "console_state_paused": {"vi": "Quầy tạm dừng", "en": "Counter paused"},
    "console_waiting_list": {"vi": "Danh sách chờ", "en": "Waiting list"},
    "console_nobody_waiting": {"vi": "Không có ai đang chờ.", "en": "Nobody is waiting."},
    "console_priority": {"vi": "Ưu tiên", "en": "Priority"},
    "console_disconnected": {
        "vi": "Mất kết nối với máy chủ — đang kết nối lại…",
        "en": "Disconnected from the server — reconnecting…",
    },
    "console_network_error": {
        "vi": "Mất kết nối với máy chủ: thao tác chưa được gửi đi. Hãy kiểm tra mạng rồi bấm lại.",
        "en": "No connection to the server: the action was not sent. Check the network and press again.",
    },
    "console_no_answer": {
        "vi": "Máy chủ không trả lời kịp: chưa rõ thao tác đã thực hiện chưa. Hãy xem số trên màn hình "
              "khi kết nối trở lại rồi mới bấm lại.",
        "en": "The server did not answer in time: the action may or may not have been done. Check the number "
              "on screen once the connection is back before pressing again.",
    },
    "console_transfer": {"vi": "Chuyển", "en": "Transfer"},
    "console_call_number": {"vi": "Gọi số…", "en": "Call a number…"},
    "console_call": {"vi": "Gọi", "en": "Call"},
    "console_call_this": {"vi": "Gọi số {number}", "en": "Call number {number}"},
    "console_cancel": {"vi": "Hủy", "en": "Cancel"},
    "console_transfer_title": {"vi": "Chuyển số đang phục vụ", "en": "Transfer the current ticket"},
    "console_transfer_to_service": {"vi": "Sang dịch vụ", "en": "To a service"},
    "console_transfer_to_counter": {"vi": "Sang quầy", "en": "To a counter"},
    "console_transferred": {"vi": "Đã chuyển số {number} sang {to}.", "en": "Number {number} was transferred to {to}."},
    "console_to_counter": {"vi": "quầy {counter}", "en": "counter {counter}"},
    "console_transferred_from": {"vi": "Chuyển từ dịch vụ {service}", "en": "Transferred from {service}"},
    "console_sent_here": {"vi": "chuyển đến quầy này", "en": "sent to this counter"},
    "console_call_number_title": {"vi": "Gọi một số cụ thể", "en": "Call a given number"},
    "console_pause_title": {"vi": "Tạm dừng quầy — lý do", "en": "Pause the counter — reason"},
    "console_pause_other": {"vi": "Lý do khác (không bắt buộc)", "en": "Another reason (optional)"},
    "console_reason_break": {"vi": "Nghỉ giải lao", "en": "Break"},
    "console_reason_meeting": {"vi": "Họp", "en": "Meeting"},
    "console_reason_other_work": {"vi": "Làm việc khác", "en": "Other work"},
    "console_waited": {"vi": "Đã chờ", "en": "Waited"},
    "console_service_time": {"vi": "Thời gian phục vụ", "en": "Service time"},
    "console_waiting_for": {"vi": "chờ {time}", "en": "waiting {time}"},
    "console_today": {"vi": "Hôm nay của bạn", "en": "Your day"},
    "console_served": {"vi": "Đã phục vụ", "en": "Served"},
    "console_avg_service": {"vi": "TB mỗi lượt", "en": "Avg. service"},
    "console_no_shows": {"vi": "Vắng mặt", "en": "No-shows"},
    "console_ratings": {"vi": "Đánh giá", "en": "Ratings"},
    "console_rating_very_satisfied": {"vi": "Rất hài lòng", "en": "Very satisfied"},
    "console_rating_satisfied": {"vi": "Hài lòng", "en": "Satisfied"},
    "console_rating_unsatisfied": {"vi": "Không hài lòng", "en": "Not satisfied"},
    # the keypad client in a terminal (queuekiosk keypad)
    "keypad_title": {"vi": "queuekiosk · bàn phím quầy {counter}", "en": "queuekiosk · keypad of counter {counter}"},
    "keypad_connected": {"vi": "đã kết nối", "en": "connected"},
    "keypad_disconnected": {"vi": "MẤT KẾT NỐI — đang kết nối lại", "en": "DISCONNECTED — reconnecting"},
    "keypad_current": {"vi": "Số hiện tại", "en": "Current number"},
    "keypad_waiting": {"vi": "Đang chờ", "en": "Waiting"},
    "keypad_typed": {"vi": "Số đã nhập", "en": "Typed number"},
    "keypad_paused": {"vi": "QUẦY TẠM DỪNG", "en": "COUNTER PAUSED"},
    "keypad_status_called": {"vi": "đang gọi", "en": "called"},
    "keypad_status_serving": {"vi": "đang phục vụ", "en": "being served"},
    "keypad_sending": {"vi": "Đang gửi: {action}…", "en": "Sending: {action}…"},
    "keypad_resending": {
        "vi": "Mất kết nối — đang gửi lại: {action}… (chỉ thực hiện một lần)",
        "en": "Connection lost — sending again: {action}… (done once only)",
    },
    "keypad_gave_up": {
        "vi": "Không gửi được “{action}”: máy chủ không trả lời. Hãy kiểm tra mạng rồi bấm lại.",
        "en": "Could not send “{action}”: the server does not answer. Check the network and press again.",
    },
    "keypad_refused": {"vi": "Máy chủ từ chối (mã {status}).", "en": "The server refused (status {status})."},
    "keypad_bad_token": {
        "vi": "Máy chủ không nhận mã truy cập này (sai mã hoặc đã thu hồi). Hãy tạo mã mới: "
              "queuekiosk token create --role counter --counter N",
        "en": "The server refused this token (wrong or revoked). Make a new one: "
              "queuekiosk token create --role counter --counter N",
    },
    "keypad_transfer_needs_counter": {
        "vi": "Nhập số quầy cần chuyển đến trước, rồi bấm phím chuyển.",
        "en": "Type the counter to transfer to first, then press the transfer key.",
    },
    "keypad_nobody_waiting": {"vi": "Không có ai đang chờ.", "en": "Nobody is waiting."},
    "keypad_done_next": {"vi": "Đã gọi số {number}", "en": "Called number {number}"},
    "keypad_done_recall": {"vi": "Đã gọi lại số {number}", "en": "Called number {number} again"},
    "keypad_done_start": {"vi": "Bắt đầu phục vụ số {number}", "en": "Started serving number {number}"},
    "keypad_done_finish": {"vi": "Đã kết thúc số {number}", "en": "Finished number {number}"},
    "keypad_done_no_show": {"vi": "Số {number}: vắng mặt", "en": "Number {number}: no-show"},
    "keypad_done_transfer": {"vi": "Đã chuyển số {number}", "en": "Transferred number {number}"},
    "keypad_done_pause": {"vi": "Quầy đã tạm dừng", "en": "Counter paused"},
    "keypad_done_resume": {"vi": "Quầy đã mở lại", "en": "Counter open again"},
    "keypad_action_next": {"vi": "gọi tiếp (hoặc số đã nhập)", "en": "call next (or the typed number)"},
    "keypad_action_recall": {"vi": "gọi lại", "en": "recall"},
    "keypad_action_start": {"vi": "bắt đầu", "en": "start"},
    "keypad_action_finish": {"vi": "kết thúc", "en": "finish"},
    "keypad_action_no_show": {"vi": "vắng mặt", "en": "no-show"},
    "keypad_action_pause": {"vi": "tạm dừng/tiếp tục", "en": "pause/resume"},
    "keypad_action_resume": {"vi": "tiếp tục", "en": "resume"},
    "keypad_action_transfer": {"vi": "chuyển sang quầy (số đã nhập)", "en": "transfer to the typed counter"},
    "keypad_action_erase": {"vi": "xóa một số", "en": "erase a digit"},
    "keypad_action_clear": {"vi": "xóa số đã nhập", "en": "clear the typed number"},
    "keypad_action_none": {"vi": "không làm gì", "en": "nothing"},
    "keypad_help": {"vi": "Các phím số: nhập số · Ctrl+C: thoát", "en": "Digit keys: type a number · Ctrl+C: quit"},
    # the citizen rating tablet at a counter (/rating/<counter>)
    "rating_title": {"vi": "Đánh giá sự phục vụ", "en": "Rate our service"},
    "rating_idle": {
        "vi": "Sau khi được phục vụ, xin mời bạn đánh giá trên màn hình này.",
        "en": "After you are served, please rate our service on this screen.",
    },
    "rating_idle_thanks": {
        "vi": "Ý kiến của bạn giúp chúng tôi phục vụ tốt hơn.",
        "en": "Your opinion helps us serve you better.",
    },
    "rating_number": {"vi": "Số {number}", "en": "Number {number}"},
    "rating_question": {
        "vi": "Bạn có hài lòng với sự phục vụ của cán bộ?",
        "en": "Are you satisfied with the service you received?",
    },
    "rating_very_satisfied": {"vi": "Rất hài lòng", "en": "Very satisfied"},
    "rating_satisfied": {"vi": "Hài lòng", "en": "Satisfied"},
    "rating_unsatisfied": {"vi": "Không hài lòng", "en": "Not satisfied"},
    "rating_reasons_question": {
        "vi": "Xin cho biết điều chưa hài lòng (không bắt buộc, chọn được nhiều):",
        "en": "What was not right? (optional, choose any)",
    },
    "rating_send": {"vi": "Gửi đánh giá", "en": "Send"},
    "rating_thanks": {"vi": "Cảm ơn bạn đã đánh giá!", "en": "Thank you for your rating!"},
    "rating_thanks_sorry": {
        "vi": "Chúng tôi rất tiếc và sẽ cố gắng phục vụ tốt hơn.",
        "en": "We are sorry, and we will do better.",
    },
    "rating_closed": {
        "vi": "Đã hết thời gian đánh giá cho số này.",
        "en": "The time to rate this number is over.",
    },
    "rating_send_failed": {
        "vi": "Chưa gửi được đánh giá (mất kết nối). Xin chạm lại.",
        "en": "Your rating was not sent (no connection). Please tap again.",
    },
    "rating_setup_title": {"vi": "Máy tính bảng chưa được ghép với quầy", "en": "This tablet is not paired with a counter"},
    "rating_setup_text": {
        "vi": "Cán bộ kỹ thuật: tạo mã bằng lệnh “queuekiosk token create --role rating --counter {counter}” "
              "rồi dán mã vào đây (hoặc mở /rating/{counter}#token=MÃ).",
        "en": "Installer: make a token with “queuekiosk token create --role rating --counter {counter}” and "
              "paste it here (or open /rating/{counter}#token=TOKEN).",
    },
    "rating_setup_token": {"vi": "Mã truy cập", "en": "Access token"},
    "rating_setup_save": {"vi": "Ghép máy", "en": "Pair"},
    "rating_setup_refused": {
        "vi": "Máy chủ không nhận mã này (sai mã, mã đã thu hồi, hoặc mã của quầy khác).",
        "en": "The server refused this token (wrong, revoked, or for another counter).",
    },
    "rating_disconnected": {"vi": "Mất kết nối", "en": "Disconnected"},
    # the error page a browser gets for an unknown address or a wrong method outside /api
    "page_not_allowed": {"vi": "Không thực hiện được yêu cầu", "en": "This request cannot be done"},
    # the tracking page a citizen's phone opens from the QR code of the ticket (/t/<ticket id>)
    "track_title": {"vi": "Theo dõi số thứ tự", "en": "Follow your queue number"},
    "track_your_number": {"vi": "Số thứ tự của bạn", "en": "Your number"},
    "track_status_waiting": {"vi": "Đang chờ đến lượt", "en": "Waiting for your turn"},
    "track_status_called": {"vi": "Đến lượt bạn", "en": "It is your turn"},
    "track_status_serving": {"vi": "Đang được phục vụ", "en": "Being served"},
    "track_status_done": {"vi": "Đã phục vụ xong. Cảm ơn bạn!", "en": "Done. Thank you!"},
    "track_status_no_show": {
        "vi": "Bạn đã không có mặt khi được gọi. Xin hỏi cán bộ tại quầy.",
        "en": "You were not there when your number was called. Please ask at a counter.",
    },
    "track_status_expired": {
        "vi": "Số này đã hết hiệu lực vì hết ngày làm việc. Xin lấy số mới.",
        "en": "This number expired when the working day ended. Please take a new number.",
    },
    "track_go_to_counter": {"vi": "Mời bạn đến quầy số {counter}", "en": "Please go to counter {counter}"},
    "track_at_counter": {"vi": "Tại quầy số {counter}", "en": "At counter {counter}"},
    "track_for_counter": {"vi": "Bạn sẽ được gọi tại quầy số {counter}",
                          "en": "You will be called at counter {counter}"},
    "track_people_ahead": {"vi": "Số người chờ trước bạn: {n}", "en": "People ahead of you: {n}"},
    "track_eta": {"vi": "Thời gian chờ dự kiến: khoảng {n} phút", "en": "Estimated wait: about {n} minutes"},
    "track_eta_now": {"vi": "Bạn sắp được gọi", "en": "You will be called soon"},
    "track_live_hint": {
        "vi": "Trang này tự cập nhật, không cần tải lại.",
        "en": "This page updates by itself; no need to reload.",
    },
    "track_unknown_ticket": {
        "vi": "Không tìm thấy phiếu này. Xin kiểm tra lại mã QR hoặc địa chỉ in trên phiếu.",
        "en": "This ticket was not found. Please check the QR code or the address printed on the ticket.",
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


# --- pages ------------------------------------------------------------------------------------

def both(key: str, **params) -> dict[str, str]:
    """One message in every language, e.g. for a page that shows Vietnamese with English below."""
    return {language: translate(key, language, **params) for language in LANGUAGES}


def messages_for(*prefixes: str) -> dict[str, dict[str, str]]:
    """The raw entries whose keys start with one of ``prefixes``: what a page's JavaScript needs."""
    return {key: entry for key, entry in MESSAGES.items() if key.startswith(prefixes)}


def install_jinja(app) -> None:
    """Make the messages available to every template (idempotent; each page blueprint calls it).

    ``t(key, lang="vi", **params)`` one language; ``bi(key, **params)`` Vietnamese with English
    below, as escaped HTML; ``messages_for(*prefixes)`` for a page's JSON block.
    """
    if "bi" in app.jinja_env.globals:
        return
    from markupsafe import Markup

    def t(key: str, lang: str = "vi", **params) -> str:
        return translate(key, lang, **params)

    def bi(key: str, **params) -> Markup:
        words = both(key, **params)
        return Markup('<span class="vi">{}</span><span class="en">{}</span>').format(words["vi"], words["en"])

    app.jinja_env.globals.update(t=t, bi=bi, messages_for=messages_for)
