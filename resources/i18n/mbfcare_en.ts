<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US" sourcelanguage="vi_VN">
<context>
    <name>App</name>
    <message>
        <location filename="../../mbfcare/ui/app.py" line="+57"/>
        <source>Không mở được cơ sở dữ liệu</source>
        <translation>Cannot open the database</translation>
    </message>
</context>
<context>
    <name>AuditPanel</name>
    <message>
        <location filename="../../mbfcare/ui/audit_page.py" line="+1"/>
        <source>Từ ngày</source>
        <translation>From</translation>
    </message>
    <message>
        <source>Đến ngày</source>
        <translation>To</translation>
    </message>
    <message>
        <source>Chỉ chương trình đang chọn</source>
        <translation>Only the selected programme</translation>
    </message>
    <message>
        <source>Tìm trong nội dung…</source>
        <translation>Search the description…</translation>
    </message>
    <message>
        <source>Lọc</source>
        <translation>Filter</translation>
    </message>
    <message>
        <source>Xuất Excel/CSV…</source>
        <translation>Export Excel/CSV…</translation>
    </message>
    <message>
        <source>Kiểm tra chuỗi</source>
        <translation>Check the chain</translation>
    </message>
    <message>
        <source>Chỉ quản trị (Phòng CSKH) xem được nhật ký thao tác.</source>
        <translation>Only administrators (customer care department) can read the activity log.</translation>
    </message>
    <message>
        <source>Người:</source>
        <translation>User:</translation>
    </message>
    <message>
        <source>Thao tác:</source>
        <translation>Action:</translation>
    </message>
    <message>
        <source>Đang kiểm tra chuỗi nhật ký…</source>
        <translation>Checking the log's chain…</translation>
    </message>
    <message>
        <source>Tất cả</source>
        <translation>All</translation>
    </message>
    <message>
        <source>Dòng {n}</source>
        <translation>Line {n}</translation>
    </message>
    <message>
        <source>Lý do</source>
        <translation>Reason</translation>
    </message>
    <message>
        <source>Trước</source>
        <translation>Before</translation>
    </message>
    <message>
        <source>Sau</source>
        <translation>After</translation>
    </message>
    <message>
        <source> (cuộn xuống để xem thêm)</source>
        <translation> (scroll down for more)</translation>
    </message>
    <message>
        <source>{n} dòng</source>
        <translation>{n} lines</translation>
    </message>
    <message>
        <source>Chuỗi nhật ký nguyên vẹn đến dòng {n}.</source>
        <translation>The log's chain is intact up to line {n}.</translation>
    </message>
    <message>
        <source>Chuỗi nhật ký bị phá từ dòng {n}: {problem}</source>
        <translation>The log's chain is broken from line {n}: {problem}</translation>
    </message>
    <message>
        <source>Xuất nhật ký thao tác</source>
        <translation>Export the activity log</translation>
    </message>
    <message>
        <source>Tệp Excel (*.xlsx);;Tệp CSV (*.csv)</source>
        <translation>Excel file (*.xlsx);;CSV file (*.csv)</translation>
    </message>
    <message>
        <source>Đã xuất {n} dòng nhật ký: {file}</source>
        <translation>Exported {n} log lines: {file}</translation>
    </message>
</context>
<context>
    <name>AuditTableModel</name>
    <message>
        <location filename="../../mbfcare/ui/tablemodels/audit.py" line="+1"/>
        <source>Dòng</source>
        <translation>Line</translation>
    </message>
    <message>
        <source>Thời điểm</source>
        <translation>Time</translation>
    </message>
    <message>
        <source>Người thực hiện</source>
        <translation>User</translation>
    </message>
    <message>
        <source>Thao tác</source>
        <translation>Action</translation>
    </message>
    <message>
        <source>Nội dung</source>
        <translation>Description</translation>
    </message>
    <message>
        <source>Chương trình</source>
        <translation>Programme</translation>
    </message>
    <message>
        <source>Xuất tệp</source>
        <translation>File export</translation>
    </message>
    <message>
        <source>In giấy tờ</source>
        <translation>Print</translation>
    </message>
    <message>
        <source>Cài đặt chung</source>
        <translation>Office setting</translation>
    </message>
    <message>
        <source>Đóng chương trình</source>
        <translation>Close programme</translation>
    </message>
    <message>
        <source>Xóa dữ liệu cá nhân</source>
        <translation>Erase personal data</translation>
    </message>
    <message>
        <source>Ghi bước</source>
        <translation>Record step</translation>
    </message>
    <message>
        <source>Trao quà</source>
        <translation>Hand over gift</translation>
    </message>
    <message>
        <source>Ghi nợ quà</source>
        <translation>Record owed gift</translation>
    </message>
    <message>
        <source>Trao quà nợ</source>
        <translation>Hand over owed gift</translation>
    </message>
    <message>
        <source>Ghi kết quả</source>
        <translation>Record outcome</translation>
    </message>
    <message>
        <source>Thu thập thông tin</source>
        <translation>Collect profile</translation>
    </message>
    <message>
        <source>Sửa thông tin</source>
        <translation>Correct profile</translation>
    </message>
    <message>
        <source>Đăng nhập</source>
        <translation>Sign-in</translation>
    </message>
    <message>
        <source>Đăng nhập sai</source>
        <translation>Failed sign-in</translation>
    </message>
    <message>
        <source>Đăng nhập bị từ chối</source>
        <translation>Sign-in refused</translation>
    </message>
</context>
<context>
    <name>BulkRecordingDialog</name>
    <message>
        <location filename="../../mbfcare/ui/bulk_recording.py" line="+104"/>
        <source>Ghi kết quả hàng loạt</source>
        <translation>Record results in bulk</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Đang kiểm tra {name} (chưa lưu gì)…</source>
        <translation>Checking {name} (nothing saved yet)…</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>Chọn danh sách quận/huyện gửi lại. Tệp cần cột &lt;b&gt;Số thuê bao&lt;/b&gt; và ít nhất một cột đã làm: Ngày gửi SMS, Ngày kiểm tra dữ liệu, Ngày trao quà (kèm Món quà, Người trao, Nơi trao), Ngày tư vấn hoặc Gói cước đăng ký, Ngày giải đáp, Ngày khảo sát, Kết quả (Không liên lạc được, Từ chối, Chuyển đi, Khác) và Ghi chú.&lt;br&gt;&lt;br&gt;Ô để trống nghĩa là &lt;b&gt;không thay đổi&lt;/b&gt;: không xóa gì đã ghi. Tệp được kiểm tra trước, chưa lưu gì cho đến khi bấm «Ghi kết quả».</source>
        <translation>Choose the list a district sent back. The file needs a &lt;b&gt;Số thuê bao&lt;/b&gt; (subscriber number) column and at least one column of work done: Ngày gửi SMS (SMS date), Ngày kiểm tra dữ liệu (data check date), Ngày trao quà (handover date, with Món quà, Người trao, Nơi trao: gift item, given by, place), Ngày tư vấn (advice date) or Gói cước đăng ký (package registered), Ngày giải đáp (questions answered date), Ngày khảo sát (survey date), Kết quả (result: Không liên lạc được, Từ chối, Chuyển đi, Khác) and Ghi chú (note).&lt;br&gt;&lt;br&gt;A blank cell means &lt;b&gt;no change&lt;/b&gt;: nothing already recorded is deleted. The file is checked first; nothing is saved until you click «Record results».</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Chọn tệp… (Ctrl+O)</source>
        <translation>Choose file… (Ctrl+O)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Chọn tệp Excel hoặc CSV quận/huyện gửi lại</source>
        <translation>Choose the Excel or CSV file a district sent back</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Đóng (Esc)</source>
        <translation>Close (Esc)</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Sẽ ghi theo bước:</source>
        <translation>Will record, by step:</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+57"/>
        <source>Bước</source>
        <translation>Step</translation>
    </message>
    <message>
        <location line="-57"/>
        <source>Số KH</source>
        <translation>Customers</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Lý do từ chối:</source>
        <translation>Rejection reasons:</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+6"/>
        <source>Lý do</source>
        <translation>Reason</translation>
    </message>
    <message>
        <location line="-6"/>
        <source>Số dòng</source>
        <translation>Rows</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Các dòng bị từ chối đầu tiên:</source>
        <translation>First rejected rows:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Dòng</source>
        <translation>Row</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Số thuê bao</source>
        <translation>Subscriber number</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Chọn tệp khác</source>
        <translation>Choose another file</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Ghi kết quả (Enter)</source>
        <translation>Record results (Enter)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Ghi các dòng hợp lệ trong một lần; bấm Hủy khi đang ghi để hoàn tác</source>
        <translation>Record all valid rows in one go; click Cancel while recording to roll back</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Đóng</source>
        <translation>Close</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Hủy (Esc)</source>
        <translation>Cancel (Esc)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dừng và hoàn tác: không có gì được lưu</source>
        <translation>Stop and roll back: nothing is saved</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Số KH đã ghi</source>
        <translation>Customers recorded</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Mở tệp dòng bị từ chối</source>
        <translation>Open the rejected rows file</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Ghi tệp khác</source>
        <translation>Record another file</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Đóng (Enter)</source>
        <translation>Close (Enter)</translation>
    </message>
    <message>
        <location line="+49"/>
        <source>Dòng dữ liệu: {rows} · {verb}: {recorded} · Không đổi: {unchanged} · Bị từ chối: {rejected}</source>
        <translation>Data rows: {rows} · {verb}: {recorded} · Unchanged: {unchanged} · Rejected: {rejected}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Đã ghi</source>
        <translation>Recorded</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Sẽ ghi</source>
        <translation>To record</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{name}, sheet «{sheet}», tiêu đề ở dòng {row}</source>
        <translation>{name}, sheet «{sheet}», header on row {row}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{name}, tiêu đề ở dòng {row}</source>
        <translation>{name}, header on row {row}</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Kết quả kiểm tra {where} (chưa lưu gì):</source>
        <translation>Check of {where} (nothing saved yet):</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Không có gì mới để ghi: các dòng đều không đổi hoặc bị từ chối.</source>
        <translation>Nothing new to record: every row is unchanged or rejected.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Đã dừng kiểm tra; chưa lưu gì.</source>
        <translation>Check stopped; nothing saved.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Không dùng được tệp: {reason}</source>
        <translation>Cannot use the file: {reason}</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Thiếu số thuê bao</source>
        <translation>Missing subscriber number</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Số thuê bao không hợp lệ</source>
        <translation>Invalid subscriber number</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ngày không đọc được</source>
        <translation>Unreadable date</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Thiếu ngày của bước</source>
        <translation>Missing step date</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Món quà không rõ</source>
        <translation>Unknown gift item</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Thiếu món quà (loại quà có nhiều món)</source>
        <translation>Missing gift item (the gift type has several items)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Kết quả không rõ</source>
        <translation>Unknown result</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Kết quả «Khác» cần ghi chú</source>
        <translation>Result «Other» needs a note</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Trùng số thuê bao nhưng khác nội dung</source>
        <translation>Duplicate subscriber number with different content</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Không có trong danh sách chăm sóc</source>
        <translation>Not on the care list</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chưa phục vụ được (chờ quyết định nhóm, danh sách chờ)</source>
        <translation>Cannot be served yet (awaiting a group decision, or on the waiting list)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đã đóng với kết quả</source>
        <translation>Already closed with a result</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đã nhận quà, không đóng với kết quả</source>
        <translation>Gift already received; cannot close with a result</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đã trao quà (hoặc ghi nợ) trước đó</source>
        <translation>Gift already handed over (or recorded as owed)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bước đã ghi với ngày khác</source>
        <translation>Step already recorded with another date</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hết quà ở nơi trao</source>
        <translation>Out of gifts at the handover place</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Không có nơi để quà</source>
        <translation>Unknown gift location</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sai thứ tự hoặc ngày của các bước</source>
        <translation>Steps in the wrong order or with wrong dates</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Đang ghi kết quả từ {name}…</source>
        <translation>Recording results from {name}…</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>{done} / {total} dòng · {rate} dòng/giây</source>
        <translation>{done} / {total} rows · {rate} rows/s</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Đã ghi kết quả từ {where}.</source>
        <translation>Results recorded from {where}.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Các dòng bị từ chối và lý do ở tệp: {path}</source>
        <translation>Rejected rows and their reasons are in: {path}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Đã ghi kết quả cho {recorded} KH, không đổi {unchanged}, từ chối {rejected} dòng</source>
        <translation>Recorded results for {recorded} customers, {unchanged} unchanged, {rejected} rows rejected</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Chọn danh sách quận/huyện gửi lại</source>
        <translation>Choose the list a district sent back</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bảng tính và CSV (*.xlsx *.xlsm *.xls *.csv);;Mọi tệp (*)</source>
        <translation>Spreadsheets and CSV (*.xlsx *.xlsm *.xls *.csv);;All files (*)</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Đang hủy và hoàn tác…</source>
        <translation>Cancelling and rolling back…</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Đang dừng kiểm tra…</source>
        <translation>Stopping the check…</translation>
    </message>
</context>
<context>
    <name>CareListTableModel</name>
    <message>
        <location filename="../../mbfcare/ui/tablemodels/care_list.py" line="+50"/>
        <source>Trong danh sách</source>
        <translation>On the list</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Danh sách chờ</source>
        <translation>Waiting list</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chờ quyết định nhóm</source>
        <translation>Awaiting a group decision</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Không chăm sóc (đã quyết định)</source>
        <translation>Not cared for (decided)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Trong danh sách chăm sóc của nhóm, sẽ được trao quà.</source>
        <translation>On the group&apos;s care list; will receive the gift.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Đủ điều kiện nhưng quà của đợt đã hết theo kế hoạch: chờ theo thứ tự.</source>
        <translation>Eligible, but the batch&apos;s planned gifts are used up: waiting in order.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Mức cước căn cứ nằm giữa các nhóm: cán bộ cần quyết định nhóm.</source>
        <translation>The charge basis falls between groups: staff must decide the group.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Cán bộ đã quyết định không chăm sóc.</source>
        <translation>Staff decided not to care for this customer.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>SMS</source>
        <translation>SMS</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>DL</source>
        <translation>Data</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Quà</source>
        <translation>Gift</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Gói</source>
        <translation>Pkg</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hỏi</source>
        <translation>Q/A</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>KS</source>
        <translation>Survey</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Gửi SMS</source>
        <translation>Send SMS</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Kiểm tra dữ liệu</source>
        <translation>Data check</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Trao quà</source>
        <translation>Hand over gift</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tư vấn gói cước</source>
        <translation>Package advice</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giải đáp thắc mắc</source>
        <translation>Questions answered</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Khảo sát</source>
        <translation>Survey</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Không liên lạc được</source>
        <translation>Unreachable</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Từ chối</source>
        <translation>Refused</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chuyển đi</source>
        <translation>Moved</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Khác</source>
        <translation>Other</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>MBF đến tặng</source>
        <translation>Home visit by MobiFone</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>KH đến cửa hàng nhận</source>
        <translation>Store pick-up</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>nợ</source>
        <translation>owed</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Đợt</source>
        <translation>Batch</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Số thuê bao</source>
        <translation>Subscriber number</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Họ tên</source>
        <translation>Name</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Nhóm</source>
        <translation>Group</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Hình thức</source>
        <translation>Delivery</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Quận/Huyện</source>
        <translation>District</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Cửa hàng</source>
        <translation>Store</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Cước n-3</source>
        <translation>Charge n-3</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Cước n-4</source>
        <translation>Charge n-4</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Cước n-5</source>
        <translation>Charge n-5</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Mức cước căn cứ</source>
        <translation>Charge basis</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Năm sử dụng</source>
        <translation>Years of use</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Trạng thái</source>
        <translation>State</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Kết quả</source>
        <translation>Result</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Thứ tự chờ</source>
        <translation>Waiting position</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Người phụ trách</source>
        <translation>Responsible</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>nợ quà</source>
        <translation>gift owed</translation>
    </message>
    <message>
        <location line="+188"/>
        <source>Trao quà: đang nợ quà</source>
        <translation>Hand over gift: gift owed</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{step}: chưa làm</source>
        <translation>{step}: not done</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Thứ tự chờ: {rank}.</source>
        <translation>Waiting position: {rank}.</translation>
    </message>
</context>
<context>
    <name>CareListWidget</name>
    <message>
        <location filename="../../mbfcare/ui/care_list.py" line="+102"/>
        <source>Số thuê bao hoặc tên, không dấu cũng được</source>
        <translation>Subscriber number or name (accents optional)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Xuất Excel</source>
        <translation>Export to Excel</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xuất danh sách đang xem ra tệp Excel (Ctrl+E)</source>
        <translation>Export the list shown to an Excel file (Ctrl+E)</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>Chọn một khách hàng để xem chi tiết.</source>
        <translation>Select a customer to see the details.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Ghi bước…</source>
        <translation>Record step…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ghi kết quả…</source>
        <translation>Record result…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hủy bước đã ghi…</source>
        <translation>Undo a recorded step…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nhập thông tin KH</source>
        <translation>Enter customer details</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Đợt</source>
        <translation>Batch</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nhóm</source>
        <translation>Group</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hình thức</source>
        <translation>Delivery</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Quận/Huyện</source>
        <translation>District</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cửa hàng</source>
        <translation>Store</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Trạng thái</source>
        <translation>Status</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bước còn thiếu</source>
        <translation>Step not done</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Kết quả</source>
        <translation>Result</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Tìm:</source>
        <translation>Search:</translation>
    </message>
    <message>
        <location line="+190"/>
        <location line="+6"/>
        <location line="+14"/>
        <source>Tất cả</source>
        <translation>All</translation>
    </message>
    <message>
        <location line="-11"/>
        <source>Chưa có kết quả</source>
        <translation>No result yet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đã đóng (mọi kết quả)</source>
        <translation>Closed (any result)</translation>
    </message>
    <message>
        <location line="+24"/>
        <location line="+30"/>
        <source>Nhóm {n}</source>
        <translation>Group {n}</translation>
    </message>
    <message>
        <location line="-29"/>
        <source>Chờ quyết định</source>
        <translation>Awaiting decision</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>{count} KH</source>
        <translation>{count} customers</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>chưa có nhóm</source>
        <translation>no group yet</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Đợt {n} ({month})</source>
        <translation>Batch {n} ({month})</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>kích hoạt {date}</source>
        <translation>activated {date}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{years} năm sử dụng ({band})</source>
        <translation>{years} years of use ({band})</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Người phụ trách: {who}</source>
        <translation>Responsible: {who}</translation>
    </message>
    <message>
        <location line="-303"/>
        <source>Khảo sát</source>
        <translation>Survey</translation>
    </message>
    <message>
        <location line="+320"/>
        <source>đang nợ quà</source>
        <translation>gift owed</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Nhập lần đầu</source>
        <translation>First import</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cập nhật</source>
        <translation>Update</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xếp danh sách</source>
        <translation>Build list</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Quyết định nhóm</source>
        <translation>Group decision</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ghi nhận</source>
        <translation>Recorded</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>quy định phiên bản {v}</source>
        <translation>rules version {v}</translation>
    </message>
    <message>
        <location line="+95"/>
        <source>Không còn gì để ghi hay hủy cho khách hàng này.</source>
        <translation>Nothing left to record or undo for this customer.</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Xuất danh sách ra Excel</source>
        <translation>Export the list to Excel</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tệp Excel (*.xlsx)</source>
        <translation>Excel files (*.xlsx)</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Đã xuất {rows} KH ra tệp {file}</source>
        <translation>Exported {rows} customers to {file}</translation>
    </message>
    <message>
        <source>SĐT liên hệ: {number}</source>
        <translation>Contact number: {number}</translation>
    </message>
</context>
<context>
    <name>ChangePasswordDialog</name>
    <message>
        <source>Đổi mật khẩu</source>
        <translation>Change password</translation>
    </message>
    <message>
        <source>Mật khẩu hiện tại:</source>
        <translation>Current password:</translation>
    </message>
    <message>
        <source>Mật khẩu mới:</source>
        <translation>New password:</translation>
    </message>
    <message>
        <source>Nhập lại mật khẩu mới:</source>
        <translation>New password again:</translation>
    </message>
    <message>
        <source>Hủy</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>Hai lần nhập mật khẩu mới chưa giống nhau.</source>
        <translation>The two new passwords are not the same.</translation>
    </message>
    <message>
        <source>Đã đổi mật khẩu.</source>
        <translation>Password changed.</translation>
    </message>
</context>
<context>
    <name>ClassifyDialog</name>
    <message>
        <location filename="../../mbfcare/ui/classify_dialog.py" line="+58"/>
        <source>Xếp danh sách đợt {batch}</source>
        <translation>Build the list for batch {batch}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Tháng chăm sóc:</source>
        <translation>Care month:</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>không giới hạn</source>
        <translation>unlimited</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Số quà loại {n} dự kiến:</source>
        <translation>Planned type {n} gifts:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Bấm «Xem trước» để xem số lượng trước khi lưu.</source>
        <translation>Click «Preview» to see the counts before saving.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Kết quả</source>
        <translation>Result</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Số KH</source>
        <translation>Customers</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Xem trước</source>
        <translation>Preview</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Xếp danh sách</source>
        <translation>Build list</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Đóng</source>
        <translation>Close</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Đang tính…</source>
        <translation>Calculating…</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Xếp lại đợt {batch} sẽ thêm {added} KH, giữ nguyên {kept} KH đã có trong danh sách.</source>
        <translation>Rebuilding batch {batch} will add {added} customers and keep the {kept} customers already in the list.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Lưu danh sách đợt {batch}: {added} KH.</source>
        <translation>Save the list for batch {batch}: {added} customers.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Xếp danh sách đợt {batch}?</source>
        <translation>Build the list for batch {batch}?</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Nhóm {n}</source>
        <translation>Group {n}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chờ quyết định nhóm</source>
        <translation>Awaiting a group decision</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Danh sách chờ (thiếu quà)</source>
        <translation>Waiting list (out of gifts)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Không đủ điều kiện – {reason}</source>
        <translation>Not eligible – {reason}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Đợt {batch}, tháng chăm sóc {month}; chu kỳ căn cứ {cycles}.</source>
        <translation>Batch {batch}, care month {month}; basis cycles {cycles}.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Đã xếp đợt {batch}: thêm {added} KH, {gap} KH chờ quyết định nhóm.</source>
        <translation>Batch {batch} built: {added} customers added, {gap} awaiting a group decision.</translation>
    </message>
</context>
<context>
    <name>ConsolidationPanel</name>
    <message>
        <location filename="../../mbfcare/ui/reports_page.py" line="+172"/>
        <source>Thêm tệp… (Ctrl+O)</source>
        <translation>Add files… (Ctrl+O)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Bỏ tệp đã chọn (Del)</source>
        <translation>Remove selected file (Del)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Tổng hợp…</source>
        <translation>Consolidate…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Chọn hoặc kéo thả các tệp Excel các tỉnh gửi về (xuất từ MBF Care). Tệp đã bị sửa sau khi xuất, tệp của chương trình khác hoặc không đọc được sẽ bị loại và nêu lý do; KH trùng chỉ tính một lần.</source>
        <translation>Choose or drag and drop the Excel files the provinces sent back (exported from MBF Care). Files edited after export, files from another programme or unreadable files are rejected with the reason; duplicate customers are counted once.</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>Đã tổng hợp: {file}</source>
        <translation>Consolidated: {file}</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Chọn tệp các tỉnh</source>
        <translation>Choose the provinces’ files</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+15"/>
        <source>Tệp Excel (*.xlsx)</source>
        <translation>Excel files (*.xlsx)</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>Chưa chọn tệp nào.</source>
        <translation>No files selected.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Lưu tệp tổng hợp</source>
        <translation>Save consolidated file</translation>
    </message>
</context>
<context>
    <name>CrashDialog</name>
    <message>
        <location filename="../../mbfcare/ui/crash_dialog.py" line="+31"/>
        <source>MBF Care gặp lỗi không mong đợi</source>
        <translation>MBF Care hit an unexpected error</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Thao tác vừa rồi không hoàn thành và không có dữ liệu nào bị ghi dở. Hãy thử lại; nếu lỗi lặp lại, gửi nội dung dưới đây cho bộ phận IT.</source>
        <translation>The last action did not complete and no data was partly written. Please try again; if the error recurs, send the text below to the IT department.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Nhật ký: {path}</source>
        <translation>Log: {path}</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Sao chép</source>
        <translation>Copy</translation>
    </message>
</context>
<context>
    <name>DashboardWidget</name>
    <message>
        <location filename="../../mbfcare/ui/dashboard.py" line="+122"/>
        <source>Trong danh sách</source>
        <translation>In the list</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Danh sách chờ</source>
        <translation>Waiting list</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chờ quyết định nhóm</source>
        <translation>Awaiting a group decision</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đã có thao tác</source>
        <translation>Actioned</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đã gửi SMS</source>
        <translation>SMS sent</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đã trao quà</source>
        <translation>Gift handed over</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đang nợ quà</source>
        <translation>Gift owed</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đã khảo sát</source>
        <translation>Surveyed</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đã đóng (có kết quả)</source>
        <translation>Closed (with a result)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>KH chờ quyết định nhóm (mức cước nằm giữa hai nhóm)</source>
        <translation>Customers awaiting a group decision (charge basis between two groups)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>KH trong danh sách chờ (vượt số quà dự kiến)</source>
        <translation>Customers on the waiting list (beyond the planned gifts)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>KH cần chuẩn hóa thông tin (thu thập phiếu thông tin khi gặp KH)</source>
        <translation>Customers needing profile standardisation (collect the information form when meeting them)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Quà nợ đã quá ngày hẹn trao</source>
        <translation>Owed gifts past the promised date</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Tổng quan</source>
        <translation>Overview</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Làm mới</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đọc lại số liệu (F5)</source>
        <translation>Reload the figures (F5)</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Cần làm</source>
        <translation>To do</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Theo đợt và nhóm</source>
        <translation>By batch and group</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Kho quà</source>
        <translation>Gift stock</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Theo quận/huyện</source>
        <translation>By district</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Trao quà theo ngày</source>
        <translation>Gifts handed over by day</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Chưa có lượt trao quà nào được ghi nhận.</source>
        <translation>No gift handovers recorded yet.</translation>
    </message>
    <message>
        <location line="+40"/>
        <source>Đang tải…</source>
        <translation>Loading…</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>Không đọc được số liệu.</source>
        <translation>Could not read the figures.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>· cả chương trình</source>
        <translation>· whole programme</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>· đợt {batch}</source>
        <translation>· batch {batch}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Chưa có chương trình chăm sóc nào. Tạo chương trình và nhập dữ liệu thuê bao, số liệu sẽ hiện ở đây.</source>
        <translation>No care programme yet. Create a programme and import subscriber data; the figures will appear here.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Chương trình chưa có danh sách chăm sóc. Nhập dữ liệu thuê bao rồi xếp đợt, số liệu sẽ hiện ở đây.</source>
        <translation>The programme has no care list yet. Import subscriber data and build a batch; the figures will appear here.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Đợt {batch} chưa có danh sách chăm sóc. Nhập dữ liệu thuê bao rồi xếp đợt, số liệu sẽ hiện ở đây.</source>
        <translation>Batch {batch} has no care list yet. Import subscriber data and build the batch; the figures will appear here.</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Không còn việc nào cần làm.</source>
        <translation>Nothing left to do.</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Món quà</source>
        <translation>Gift item</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Nhập</source>
        <translation>Received</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Đã trao</source>
        <translation>Handed over</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Nợ</source>
        <translation>Owed</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Còn</source>
        <translation>On hand</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>sắp hết, cần nhập thêm</source>
        <translation>running low, restock needed</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Đợt {batch} · Chưa xếp nhóm</source>
        <translation>Batch {batch} · No group yet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đợt {batch} · Nhóm {group}</source>
        <translation>Batch {batch} · Group {group}</translation>
    </message>
    <message>
        <location line="+39"/>
        <source>(Chưa rõ)</source>
        <translation>(Unknown)</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Bấm vào một cột để mở danh sách chăm sóc của quận/huyện đó.</source>
        <translation>Click a bar to open the care list for that district.</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Số KH được trao quà trong ngày</source>
        <translation>Customers handed a gift that day</translation>
    </message>
</context>
<context>
    <name>DataProtectionWidget</name>
    <message>
        <location filename="../../mbfcare/ui/data_protection_tab.py" line="+1"/>
        <source>Bảo vệ dữ liệu cá nhân</source>
        <translation>Personal data protection</translation>
    </message>
    <message>
        <source>Che số CCCD/CMND và số liên hệ trong danh sách, báo cáo và nhật ký</source>
        <translation>Mask ID numbers and contact numbers in lists, reports and logs</translation>
    </message>
    <message>
        <source>Theo Luật Bảo vệ dữ liệu cá nhân (91/2025/QH15) và Nghị định 356/2025/NĐ-CP: số chỉ hiện đầy đủ ở nơi cần cho công việc (tra cứu tại quầy, biên bản khách ký, tệp cập nhật iCRM). Tệp log của phần mềm luôn che số. Cài đặt áp dụng cho mọi máy dùng chung cơ sở dữ liệu; mỗi lần đổi được ghi vào nhật ký thao tác.</source>
        <translation>Under the Personal Data Protection Law (91/2025/QH15) and Decree 356/2025/NĐ-CP, numbers are shown in full only where the work needs them (the desk lookup, the receipt the customer signs, the iCRM update file). The program's log file always masks them. The setting applies to every PC sharing the database; each change is recorded in the activity log.</translation>
    </message>
    <message>
        <source>Kết thúc chương trình</source>
        <translation>Ending the programme</translation>
    </message>
    <message>
        <source>Đóng chương trình…</source>
        <translation>Close the programme…</translation>
    </message>
    <message>
        <source>Xóa dữ liệu cá nhân…</source>
        <translation>Erase personal data…</translation>
    </message>
    <message>
        <source>Khi chương trình đã xong, đóng chương trình rồi xóa dữ liệu cá nhân: họ tên, số giấy tờ, ngày sinh, địa chỉ, số liên hệ, câu trả lời tự do và ghi chú. Các số liệu (hồ sơ, bước, nhóm, quận/huyện, mức cước, quà) được giữ nên báo cáo không đổi.</source>
        <translation>When the programme is over, close it and then erase its personal data: names, ID numbers, birth dates, addresses, contact numbers, free-text answers and notes. The figures (cases, steps, groups, districts, charges, gifts) are kept, so the reports do not change.</translation>
    </message>
    <message>
        <source>Chỉ quản trị (Phòng CSKH) thay đổi được các cài đặt này.</source>
        <translation>Only administrators (customer care department) can change these settings.</translation>
    </message>
    <message>
        <source>Chưa chọn chương trình.</source>
        <translation>No programme selected.</translation>
    </message>
    <message>
        <source>Chương trình {id} đã đóng; dữ liệu cá nhân đã xóa lúc {when}.</source>
        <translation>Programme {id} is closed; its personal data was erased at {when}.</translation>
    </message>
    <message>
        <source>Chương trình {id} đã đóng; dữ liệu cá nhân còn lưu.</source>
        <translation>Programme {id} is closed; its personal data is still stored.</translation>
    </message>
    <message>
        <source>Chương trình {id} đang mở.</source>
        <translation>Programme {id} is open.</translation>
    </message>
    <message>
        <source>Đã bật che số.</source>
        <translation>Number masking turned on.</translation>
    </message>
    <message>
        <source>Đã tắt che số.</source>
        <translation>Number masking turned off.</translation>
    </message>
    <message>
        <source>Đóng chương trình {id}? Sau khi đóng, chương trình không còn nhận thêm kết quả chăm sóc; có thể xóa dữ liệu cá nhân.</source>
        <translation>Close programme {id}? Once closed it takes no more care results, and its personal data can be erased.</translation>
    </message>
</context>
<context>
    <name>DeskPage</name>
    <message>
        <location filename="../../mbfcare/ui/desk.py" line="+214"/>
        <source>(theo KH)</source>
        <translation>(per customer)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Nơi lấy quà (Alt+N): theo KH là cửa hàng của khách hàng (nhóm 1: kho); chọn một cửa hàng khi trao quà tại đó.</source>
        <translation>Where gifts are taken from (Alt+N): per customer means the customer&apos;s own store (group 1: the warehouse, Kho); choose a store when handing over there.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Nơi trao:</source>
        <translation>Ha&amp;ndover place:</translation>
    </message>
    <message>
        <location line="+4"/>
        <location line="+151"/>
        <source>Quét mã hoặc nhập số thuê bao</source>
        <translation>Scan a code or enter a subscriber number</translation>
    </message>
    <message>
        <location line="-149"/>
        <source>Quét mã in trên giấy mời, biên bản, phiếu khảo sát hoặc nhập số thuê bao rồi nhấn Enter; nhấn Enter lần nữa (ô trống) để trao quà.</source>
        <translation>Scan the code printed on the invitation, receipt or survey form, or enter a subscriber number, then press Enter; press Enter again (empty box) to hand over the gift.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>&amp;Quét mã hoặc nhập số thuê bao:</source>
        <translation>&amp;Scan a code or enter a subscriber number:</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>Nhập thông tin (F4)</source>
        <translation>Enter details (F4)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mở phiếu thu thập thông tin để chuẩn hóa hồ sơ khách hàng (F4)</source>
        <translation>Open the information form for the customer&apos;s profile standardisation (F4)</translation>
    </message>
    <message>
        <location line="+17"/>
        <location line="+242"/>
        <source>Trao quà &amp;&amp; in biên bản (Enter)</source>
        <translation>Hand over gift &amp;&amp; print receipt (Enter)</translation>
    </message>
    <message>
        <location line="-241"/>
        <source>Trao quà cho khách hàng đang hiển thị và in biên bản giao nhận (Enter khi ô quét trống)</source>
        <translation>Hand over the gift to the customer shown and print the handover receipt (Enter when the scan box is empty)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Ghi nợ quà (F6)</source>
        <translation>Record owed gift (F6)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hết quà: ghi nợ món đã chọn, hẹn ngày trao (F6)</source>
        <translation>Out of gifts: record the chosen item as owed and promise a handover date (F6)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Khảo sát (F7)</source>
        <translation>Survey (F7)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nhập phiếu khảo sát ý kiến của khách hàng này (F7)</source>
        <translation>Enter this customer&apos;s opinion survey form (F7)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Tư vấn gói (F8)</source>
        <translation>Package advice (F8)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ghi gói cước khách hàng đăng ký sau khi tư vấn (F8)</source>
        <translation>Record the package the customer registered after advice (F8)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Xóa (Esc)</source>
        <translation>Clear (Esc)</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Bỏ khách hàng đang hiển thị, xóa ô quét (Esc)</source>
        <translation>Drop the customer shown and clear the scan box (Esc)</translation>
    </message>
    <message>
        <location line="+74"/>
        <source>Chọn chương trình trước</source>
        <translation>Choose a programme first</translation>
    </message>
    <message>
        <location line="+122"/>
        <source>Quét mã trên giấy mời hoặc biên bản, hoặc nhập số thuê bao rồi nhấn Enter.</source>
        <translation>Scan the code on the invitation or receipt, or enter a subscriber number, then press Enter.</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>(%1) %2 · Còn: %3</source>
        <translation>(%1) %2 · On hand: %3</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Nhấn %1 để chọn %2</source>
        <translation>Press %1 to choose %2</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Trao quà nợ (Enter)</source>
        <translation>Hand over owed gift (Enter)</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Vai trò %1 chỉ xem được, không ghi trao quà.</source>
        <translation>The %1 role can only view; it cannot record handovers.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Khách hàng chọn món nào? Nhấn %1 để chọn, rồi Enter để trao.</source>
        <translation>Which item does the customer choose? Press %1 to choose, then Enter to hand over.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Nhấn Enter để trao quà nợ; quét mã khác để phục vụ khách hàng tiếp theo.</source>
        <translation>Press Enter to hand over the owed gift; scan another code to serve the next customer.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Nhấn Enter để trao quà và in biên bản; F6 nếu phải ghi nợ.</source>
        <translation>Press Enter to hand over the gift and print the receipt; F6 to record it as owed.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Quét mã khách hàng tiếp theo; F7 để nhập phiếu khảo sát.</source>
        <translation>Scan the next customer&apos;s code; F7 to enter the survey form.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Quét mã khách hàng tiếp theo hoặc nhấn Esc.</source>
        <translation>Scan the next customer&apos;s code or press Esc.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Nhóm %1</source>
        <translation>Group %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chưa có nhóm</source>
        <translation>No group yet</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đợt %1</source>
        <translation>Batch %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>MBF đến tặng</source>
        <translation>Home visit by MobiFone</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Chưa trao quà được: khách hàng %1.</source>
        <translation>Cannot hand over the gift yet: the customer is %1.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Đã đóng với kết quả “%1”: không trao quà; muốn trao thì hủy kết quả trước.</source>
        <translation>Closed with the result “%1”: no gift; to hand one over, undo the result first.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>, hẹn %1</source>
        <translation>, promised for %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Đang nợ quà %1 tại %2%3.</source>
        <translation>Gift owed: %1 at %2%3.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>%1 tại %2:</source>
        <translation>%1 at %2:</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>cần xác nhận thông tin</source>
        <translation>confirm the details</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>cần thu thập %1</source>
        <translation>collect %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>⚠ Chưa chuẩn hóa thông tin: %1</source>
        <translation>⚠ Profile not standardised: %1</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Gói cước có thể tư vấn: %1</source>
        <translation>Packages to advise: %1</translation>
    </message>
    <message>
        <location line="+10"/>
        <location line="+159"/>
        <source>Còn phải làm: %1</source>
        <translation>Still to do: %1</translation>
    </message>
    <message>
        <location line="-158"/>
        <location line="+159"/>
        <source>Đã làm đủ sáu bước.</source>
        <translation>All six steps done.</translation>
    </message>
    <message>
        <location line="-152"/>
        <source>đang ở danh sách chờ (quà của đợt đã hết theo kế hoạch)</source>
        <translation>on the waiting list (the batch&apos;s planned gifts are used up)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>đang chờ cán bộ quyết định nhóm</source>
        <translation>awaiting a group decision by staff</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>đã được quyết định không chăm sóc</source>
        <translation>not to be cared for (staff decision)</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>nợ %1</source>
        <translation>owed %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Vừa trao: %1</source>
        <translation>Just handed over: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>chưa có</source>
        <translation>none yet</translation>
    </message>
    <message>
        <location line="+69"/>
        <source>Nhấn F6 để ghi nợ quà và hẹn ngày trao, hoặc Esc để bỏ qua.</source>
        <translation>Press F6 to record the gift as owed and promise a date, or Esc to skip.</translation>
    </message>
    <message>
        <location line="+57"/>
        <source>Đã trao: %1</source>
        <translation>Handed over: %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Ghi nợ: %1</source>
        <translation>Recorded as owed: %1</translation>
    </message>
    <message>
        <location line="+63"/>
        <source>Màn hình nhập phiếu khảo sát chưa có trong bản cài đặt này.</source>
        <translation>The survey entry screen is not in this installation.</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Chọn món quà trước: nhấn %1.</source>
        <translation>Choose the gift item first: press %1.</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Chọn món quà để ghi nợ: nhấn %1.</source>
        <translation>Choose the gift item to record as owed: press %1.</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Màn hình nhập thông tin khách hàng chưa có trong bản cài đặt này.</source>
        <translation>The customer details screen is not in this installation.</translation>
    </message>
</context>
<context>
    <name>DocumentsPanel</name>
    <message>
        <location filename="../../mbfcare/ui/print_page.py" line="+70"/>
        <source>Biên bản giao nhận quà tặng</source>
        <translation>Gift handover receipt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Danh sách khách hàng ký nhận quà</source>
        <translation>Signature list</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phiếu khảo sát ý kiến khách hàng</source>
        <translation>Survey form</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phiếu thu thập thông tin khách hàng</source>
        <translation>Information collection form</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giấy mời nhận quà (nhóm 2)</source>
        <translation>Invitation (group 2)</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+6"/>
        <location line="+161"/>
        <source>Tất cả</source>
        <translation>All</translation>
    </message>
    <message>
        <location line="-166"/>
        <source>Nhóm 1</source>
        <translation>Group 1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nhóm 2</source>
        <translation>Group 2</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Thêm phiếu trống để điền tay</source>
        <translation>Extra blank forms to fill in by hand</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tạo bản in (Ctrl+P)</source>
        <translation>Create printout (Ctrl+P)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Tạo tệp PDF và ghi vào sổ in; mã trên các bản in trước của cùng KH hết hiệu lực</source>
        <translation>Create the PDF file and record it in the print log; codes on earlier printouts for the same customers become invalid</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hủy</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>In…</source>
        <translation>Print…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lưu PDF…</source>
        <translation>Save PDF…</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Giấy tờ:</source>
        <translation>Document:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nhóm:</source>
        <translation>Group:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Quận/Huyện:</source>
        <translation>District:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cửa hàng:</source>
        <translation>Store:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phiếu trống thêm:</source>
        <translation>Extra blank forms:</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Sổ in (mới nhất trước):</source>
        <translation>Print log (newest first):</translation>
    </message>
    <message>
        <location line="+78"/>
        <source>Đã lưu {file}.</source>
        <translation>Saved {file}.</translation>
    </message>
    <message>
        <location line="+47"/>
        <source>{at} · {user} · {what}: {documents} tài liệu, {pages} trang</source>
        <translation>{at} · {user} · {what}: {documents} documents, {pages} pages</translation>
    </message>
    <message>
        <location line="+39"/>
        <source>Lưu PDF</source>
        <translation>Save PDF</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tệp PDF (*.pdf)</source>
        <translation>PDF files (*.pdf)</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Không mở được máy in.</source>
        <translation>Could not open the printer.</translation>
    </message>
</context>
<context>
    <name>FileDropZone</name>
    <message>
        <location filename="../../mbfcare/ui/import_wizard.py" line="+249"/>
        <source>Kéo tệp Excel (.xlsx, .xlsm, .xls) hoặc CSV thả vào đây</source>
        <translation>Drop an Excel (.xlsx, .xlsm, .xls) or CSV file here</translation>
    </message>
</context>
<context>
    <name>FirstAdminDialog</name>
    <message>
        <source>Tạo tài khoản quản trị</source>
        <translation>Create the administrator account</translation>
    </message>
    <message>
        <source>Cơ sở dữ liệu chưa có tài khoản nào. Tạo tài khoản quản trị (Phòng CSKH) để bắt đầu; quản trị tạo tài khoản cho các trưởng MF quận/huyện, giao dịch viên và người xem báo cáo.</source>
        <translation>The database has no account yet. Create the administrator account (customer-care department) to start; the administrator creates the accounts of district heads, clerks and report viewers.</translation>
    </message>
    <message>
        <source>ví dụ: Nguyễn Thị Lan</source>
        <translation>e.g. Nguyễn Thị Lan</translation>
    </message>
    <message>
        <source>ví dụ: lan.cskh</source>
        <translation>e.g. lan.cskh</translation>
    </message>
    <message>
        <source>Họ tên:</source>
        <translation>Full name:</translation>
    </message>
    <message>
        <source>Tên đăng nhập:</source>
        <translation>User name:</translation>
    </message>
    <message>
        <source>Mật khẩu:</source>
        <translation>Password:</translation>
    </message>
    <message>
        <source>Nhập lại mật khẩu:</source>
        <translation>Password again:</translation>
    </message>
    <message>
        <source>Tạo tài khoản</source>
        <translation>Create account</translation>
    </message>
    <message>
        <source>Thoát</source>
        <translation>Quit</translation>
    </message>
    <message>
        <source>Cần họ tên.</source>
        <translation>A full name is needed.</translation>
    </message>
    <message>
        <source>Cần tên đăng nhập.</source>
        <translation>A user name is needed.</translation>
    </message>
    <message>
        <source>Mật khẩu cần ít nhất {n} ký tự (đã nhập {typed}).</source>
        <translation>The password needs at least {n} characters ({typed} typed).</translation>
    </message>
    <message>
        <source>Mật khẩu không được trùng tên đăng nhập.</source>
        <translation>The password must not be the user name.</translation>
    </message>
    <message>
        <source>Hai lần nhập mật khẩu chưa giống nhau.</source>
        <translation>The two passwords are not the same.</translation>
    </message>
    <message>
        <source>✓ Mật khẩu dùng được.</source>
        <translation>✓ The password can be used.</translation>
    </message>
</context>
<context>
    <name>FormSettingsEditor</name>
    <message>
        <location filename="../../mbfcare/ui/form_settings_editor.py" line="+237"/>
        <source>Chưa có chương trình để sửa mẫu giấy tờ.</source>
        <extracomment>The placeholders the invitation&apos;s texts may use (see forms.toml, [invitation]).</extracomment>
        <translation>No programme whose document templates can be edited yet.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Đang đọc mẫu giấy tờ…</source>
        <translation>Reading the document templates…</translation>
    </message>
    <message>
        <location line="+62"/>
        <source>Đang vẽ bản xem trước…</source>
        <translation>Drawing the preview…</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Đang lưu…</source>
        <translation>Saving…</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Mọi ô đã về mặc định của tệp mẫu; bấm Lưu để áp dụng.</source>
        <translation>All fields are back to the template file defaults; click Save to apply.</translation>
    </message>
    <message>
        <location line="+19"/>
        <location line="+10"/>
        <location line="+311"/>
        <source>Để trống: dùng chữ mặc định (chữ mờ trong ô).</source>
        <translation>Leave empty to use the default text (greyed out in the field).</translation>
    </message>
    <message>
        <location line="-301"/>
        <source>Ô để trống in chữ mặc định của tệp mẫu (chữ mờ trong ô); gõ vào ô để chương trình dùng chữ riêng.</source>
        <translation>Empty fields print the template file’s default text (greyed out in the field); type in a field to give the programme its own text.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Cơ quan ban hành (góc trên bên trái)</source>
        <translation>Issuing organisation (top left corner)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Mỗi dòng một cơ quan (tổng công ty, công ty), chữ in hoa; để trống: dùng các dòng mặc định.</source>
        <translation>One organisation per line (corporation, company), in capitals; leave empty to use the default lines.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Cơ quan cấp trên:</source>
        <translation>Parent organisations:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chi nhánh (tỉnh khác):</source>
        <translation>Branch (other provinces):</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chi nhánh (tỉnh khác)</source>
        <translation>Branch (other provinces)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dòng chi nhánh của tỉnh không có trong bảng dưới; {province} là tên tỉnh.</source>
        <translation>Branch line for provinces not in the table below; {province} is the province name.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Chi nhánh và địa danh theo tỉnh/thành</source>
        <translation>Branch and place name by province</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Chức danh người ký</source>
        <translation>Signatory titles</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Biên bản – bên giao</source>
        <translation>Receipt – handing-over party</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Biên bản – bên nhận</source>
        <translation>Receipt – receiving party</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chức vụ người trao tại cửa hàng</source>
        <translation>Position of the giver at the store</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chức vụ người trao tại nhà</source>
        <translation>Position of the giver on home visits</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Danh sách ký nhận – người lập</source>
        <translation>Signature list – prepared by</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Danh sách ký nhận – người duyệt</source>
        <translation>Signature list – approved by</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phiếu khảo sát – người khảo sát</source>
        <translation>Survey form – surveyor</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phiếu thu thập – người thu thập</source>
        <translation>Collection form – collector</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phiếu – khách hàng</source>
        <translation>Forms – customer</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giấy mời – người ký</source>
        <translation>Invitation – signatory</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Số văn bản (phần sau dấu /, ví dụ 125/BB-GNQ)</source>
        <translation>Document numbers (the part after the /, e.g. 125/BB-GNQ)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Biên bản giao nhận</source>
        <translation>Handover receipt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Danh sách ký nhận</source>
        <translation>Signature list</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giấy mời</source>
        <translation>Invitation</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Giấy mời nhận quà</source>
        <translation>Gift invitation</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Tiêu đề:</source>
        <translation>Title:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giấy mời – tiêu đề</source>
        <translation>Invitation – title</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Tiêu đề phụ:</source>
        <translation>Subtitle:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giấy mời – tiêu đề phụ</source>
        <translation>Invitation – subtitle</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Lời mời:</source>
        <translation>Invitation text:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giấy mời – lời mời</source>
        <translation>Invitation – invitation text</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Lưu ý khi đến nhận:</source>
        <translation>Notes for collection:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giấy mời – lưu ý khi đến nhận</source>
        <translation>Invitation – notes for collection</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lời kết:</source>
        <translation>Closing:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giấy mời – lời kết</source>
        <translation>Invitation – closing</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Chỗ điền: {name} tên khách hàng, {programme} chương trình, {gift} quà, {store} cửa hàng, {batch} đợt.</source>
        <translation>Placeholders: {name} customer name, {programme} programme, {gift} gift, {store} store, {batch} batch.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Giờ mở cửa chung:</source>
        <translation>Default opening hours:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giờ mở cửa chung</source>
        <translation>Default opening hours</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Cửa hàng (địa chỉ và giờ mở cửa in trên giấy mời)</source>
        <translation>Stores (address and opening hours printed on the invitation)</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Xem trước</source>
        <translation>Preview</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Biên bản giao nhận quà tặng</source>
        <translation>Gift handover receipt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Danh sách khách hàng ký nhận quà</source>
        <translation>Signature list</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phiếu khảo sát ý kiến khách hàng</source>
        <translation>Survey form</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phiếu thu thập thông tin khách hàng</source>
        <translation>Information collection form</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giấy mời nhận quà (nhóm 2)</source>
        <translation>Invitation (group 2)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Giấy tờ xem trước</source>
        <translation>Document to preview</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Tỉnh/thành của khách hàng mẫu (chi nhánh, địa danh)</source>
        <translation>Province of the sample customer (branch, place name)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Xem trước (F5)</source>
        <translation>Preview (F5)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Vẽ lại bản xem trước theo nội dung đang sửa, chưa cần lưu; không ghi vào sổ in</source>
        <translation>Redraw the preview from the text being edited, without saving; not recorded in the print log</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Về mặc định</source>
        <translation>Restore defaults</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Để trống mọi ô: dùng chữ của tệp mẫu (bấm Lưu để áp dụng)</source>
        <translation>Empty every field to use the template file’s text (click Save to apply)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Hoàn tác</source>
        <translation>Revert</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bỏ các sửa đổi chưa lưu</source>
        <translation>Discard unsaved changes</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Lưu</source>
        <translation>Save</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lưu mẫu giấy tờ của chương trình (Ctrl+S)</source>
        <translation>Save the programme’s document templates (Ctrl+S)</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Tỉnh/thành</source>
        <translation>Province</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Dòng chi nhánh</source>
        <translation>Branch line</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Địa danh ghi ngày tháng</source>
        <translation>Place name in the date line</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Chi nhánh {province}</source>
        <translation>Branch {province}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Địa danh {province}</source>
        <translation>Place name {province}</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Chưa có cửa hàng nào trên danh sách chăm sóc.</source>
        <translation>No stores on the care list yet.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Cửa hàng</source>
        <translation>Store</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Địa chỉ</source>
        <translation>Address</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giờ mở cửa</source>
        <translation>Opening hours</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Địa chỉ {store}</source>
        <translation>Address {store}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>quận/huyện, tỉnh của khách hàng</source>
        <translation>customer’s district, province</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Giờ mở cửa {store}</source>
        <translation>Opening hours {store}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>giờ mở cửa chung</source>
        <translation>default opening hours</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>Chỉ xem: vai trò {role} không được thay đổi mẫu giấy tờ.</source>
        <translation>View only: the {role} role cannot change the document templates.</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>{field}: dấu {{ và }} không thành cặp.</source>
        <translation>{field}: the braces {{ and }} are not paired.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{field}: không có chỗ điền {{{name}}}; dùng {allowed}.</source>
        <translation>{field}: there is no placeholder {{{name}}}; use {allowed}.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{field}: ô này không có chỗ điền {{{name}}}.</source>
        <translation>{field}: this field has no placeholder {{{name}}}.</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Có sửa đổi chưa lưu.</source>
        <translation>There are unsaved changes.</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Mẫu đã lưu không dùng được ({problem}); các ô để mặc định, bấm Lưu để ghi lại.</source>
        <translation>The saved templates cannot be used ({problem}); the fields show the defaults, click Save to save again.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Đang dùng mẫu mặc định của tệp.</source>
        <translation>Using the template file’s defaults.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chương trình có chữ riêng ở một số mục; ô trống dùng mẫu mặc định.</source>
        <translation>The programme has its own text for some items; empty fields use the defaults.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Không đọc được mẫu giấy tờ.</source>
        <translation>Could not read the document templates.</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Đã lưu mẫu giấy tờ: {n} mục dùng chữ riêng của chương trình.</source>
        <translation>Document templates saved: {n} items use the programme’s own text.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Đã lưu mẫu giấy tờ: dùng toàn bộ mẫu mặc định của tệp.</source>
        <translation>Document templates saved: all defaults from the template file.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Mẫu giấy tờ không có gì thay đổi.</source>
        <translation>No changes to the document templates.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Chưa lưu.</source>
        <translation>Not saved.</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>Bản xem trước theo nội dung đang sửa (chưa lưu); không ghi vào sổ in.</source>
        <translation>Preview of the text being edited (not saved); not recorded in the print log.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bản xem trước theo mẫu đã lưu; không ghi vào sổ in.</source>
        <translation>Preview of the saved templates; not recorded in the print log.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Không vẽ được bản xem trước.</source>
        <translation>Could not draw the preview.</translation>
    </message>
</context>
<context>
    <name>GapDecisionDialog</name>
    <message>
        <location filename="../../mbfcare/ui/classify_dialog.py" line="+44"/>
        <source>Quyết định nhóm cho KH ngoài các nhóm</source>
        <translation>Group decision for customers outside the groups</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Mức cước căn cứ của các KH dưới đây không thuộc nhóm nào theo quy định. Chọn nhóm hoặc «Không chọn» cho từng KH và ghi lý do.</source>
        <translation>The charge basis of the customers below falls in no group under the rules. Choose a group or «Not selected» for each customer and give a reason.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Số thuê bao</source>
        <translation>Subscriber number</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Họ tên</source>
        <translation>Full name</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Quận/Huyện</source>
        <translation>District</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cước 3 chu kỳ</source>
        <translation>Charges, 3 cycles</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Mức căn cứ</source>
        <translation>Basis</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Quyết định</source>
        <translation>Decision</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>ví dụ: Giám đốc duyệt ngày 05/09/2017</source>
        <translation>e.g. Approved by the director on 05/09/2017</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lý do:</source>
        <translation>Reason:</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Lưu quyết định</source>
        <translation>Save decisions</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Đóng</source>
        <translation>Close</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>— chưa quyết định —</source>
        <translation>— undecided —</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Nhóm 1</source>
        <translation>Group 1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nhóm 2</source>
        <translation>Group 2</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Không chọn</source>
        <translation>Not selected</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Chưa chọn quyết định cho KH nào.</source>
        <translation>No decision chosen for any customer.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Cần ghi lý do của quyết định.</source>
        <translation>A reason for the decision is required.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Đã lưu {n} quyết định nhóm.</source>
        <translation>Saved {n} group decisions.</translation>
    </message>
</context>
<context>
    <name>ImportWizardWidget</name>
    <message>
        <location filename="../../mbfcare/ui/import_wizard.py" line="+102"/>
        <source>Đang đọc {name}…</source>
        <translation>Reading {name}…</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>1 Chọn tệp</source>
        <translation>1 Choose file</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>2 Sheet &amp; dòng tiêu đề</source>
        <translation>2 Sheet &amp; header row</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>3 Ghép cột</source>
        <translation>3 Map columns</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>4 Kiểm tra</source>
        <translation>4 Check</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>5 Nhập</source>
        <translation>5 Import</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>6 Kết quả</source>
        <translation>6 Result</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Quay lại (Esc)</source>
        <translation>Back (Esc)</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+161"/>
        <source>Tiếp tục (Enter)</source>
        <translation>Next (Enter)</translation>
    </message>
    <message>
        <location line="-151"/>
        <source>Chọn tệp…</source>
        <translation>Choose file…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chọn tệp danh sách thuê bao (Excel hoặc CSV)</source>
        <translation>Choose a subscriber list file (Excel or CSV)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Tệp gần đây (Enter để mở tệp đang chọn):</source>
        <translation>Recent files (Enter opens the selected file):</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Sheet:</source>
        <translation>Sheet:</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>(chưa chọn)</source>
        <translation>(none selected)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Dùng dòng đang chọn làm tiêu đề</source>
        <translation>Use the selected row as the header</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Dòng tiêu đề:</source>
        <translation>Header row:</translation>
    </message>
    <message>
        <location line="+20"/>
        <location line="+327"/>
        <source>Không gắn đợt</source>
        <translation>No batch</translation>
    </message>
    <message>
        <location line="-325"/>
        <source>Đợt:</source>
        <translation>Batch:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>MM/YYYY, ví dụ 09/2017</source>
        <translation>MM/YYYY, e.g. 09/2017</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Tháng chăm sóc:</source>
        <translation>Care month:</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>Lý do từ chối:</source>
        <translation>Rejection reasons:</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+7"/>
        <source>Lý do</source>
        <translation>Reason</translation>
    </message>
    <message>
        <location line="-7"/>
        <source>Số dòng</source>
        <translation>Rows</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Các dòng bị từ chối đầu tiên:</source>
        <translation>First rejected rows:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Dòng</source>
        <translation>Row</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Hủy (Esc)</source>
        <translation>Cancel (Esc)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dừng và hoàn tác: không có gì được lưu</source>
        <translation>Stop and roll back: nothing is saved</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Mở tệp dòng bị từ chối</source>
        <translation>Open the rejected rows file</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Xếp danh sách đợt…</source>
        <translation>Build batch list…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Nhập tệp khác</source>
        <translation>Import another file</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Kiểm tra (Enter)</source>
        <translation>Check (Enter)</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+1"/>
        <source>Nhập (Enter)</source>
        <translation>Import (Enter)</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Nhập tệp khác (Enter)</source>
        <translation>Import another file (Enter)</translation>
    </message>
    <message>
        <location line="+107"/>
        <source>Chọn tệp danh sách thuê bao</source>
        <translation>Choose a subscriber list file</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bảng tính và CSV (*.xlsx *.xlsm *.xls *.csv);;Mọi tệp (*)</source>
        <translation>Spreadsheets and CSV (*.xlsx *.xlsm *.xls *.csv);;All files (*)</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Không đọc được tệp.</source>
        <translation>Could not read the file.</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>(tệp CSV)</source>
        <translation>(CSV file)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{name} — {rows} dòng</source>
        <translation>{name} — {rows} rows</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>⚠ Không tìm thấy dòng tiêu đề có cột số thuê bao. Chọn dòng tiêu đề trong bảng dưới rồi bấm &quot;Dùng dòng đang chọn làm tiêu đề&quot;.</source>
        <translation>⚠ No header row with a subscriber number column was found. Select the header row in the table below, then click &quot;Use the selected row as the header&quot;.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Dòng tiêu đề tìm thấy: dòng {row} (tô màu, đánh dấu ▶).</source>
        <translation>Header row found: row {row} (highlighted, marked ▶).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Dòng tiêu đề do bạn chọn: dòng {row} (tô màu, đánh dấu ▶).</source>
        <translation>Header row you chose: row {row} (highlighted, marked ▶).</translation>
    </message>
    <message>
        <location line="+56"/>
        <source>Đợt {n} – {month}</source>
        <translation>Batch {n} – {month}</translation>
    </message>
    <message>
        <location line="+42"/>
        <source>Trường</source>
        <translation>Field</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cột trong tệp</source>
        <translation>Column in file</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Kiểm tra</source>
        <translation>Check</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Giá trị mẫu</source>
        <translation>Sample values</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Đã dùng cách ghép cột lưu lần trước cho tệp có cùng dòng tiêu đề.</source>
        <translation>Used the column mapping saved last time for a file with the same header row.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Cước: {header}</source>
        <translation>Charge: {header}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>(không dùng)</source>
        <translation>(not used)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{letter} (không có tiêu đề)</source>
        <translation>{letter} (no header)</translation>
    </message>
    <message>
        <location line="+41"/>
        <source>⚠ Bắt buộc – chưa ghép cột</source>
        <translation>⚠ Required – no column mapped</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>— không dùng</source>
        <translation>— not used</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>⚠ Cột này đã ghép cho trường khác</source>
        <translation>⚠ This column is already mapped to another field</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>✓ chu kỳ {month}</source>
        <translation>✓ cycle {month}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>⚠ Cần tháng chăm sóc</source>
        <translation>⚠ Care month needed</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>✓</source>
        <translation>✓</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Tháng chăm sóc của đợt {n} sẽ đổi từ {old} thành {new}.</source>
        <translation>The care month of batch {n} will change from {old} to {new}.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Tháng chăm sóc viết dạng MM/YYYY, ví dụ 09/2017.</source>
        <translation>Write the care month as MM/YYYY, e.g. 09/2017.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Chưa chọn dòng tiêu đề.</source>
        <translation>No header row chosen.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Chưa ghép cột cho: {fields}.</source>
        <translation>No column mapped for: {fields}.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Tệp chưa có cột cước nào (ví dụ &apos;Cước T-3&apos; hoặc &apos;Cước 06/2017&apos;).</source>
        <translation>The file has no charge columns (e.g. &apos;Cước T-3&apos; or &apos;Cước 06/2017&apos;).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Có cột được ghép cho hai trường; mỗi cột chỉ ghép một trường.</source>
        <translation>A column is mapped to two fields; each column can map to only one field.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Tháng chăm sóc &apos;{text}&apos; không hợp lệ: viết MM/YYYY.</source>
        <translation>Care month &apos;{text}&apos; is invalid: write MM/YYYY.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Các cột cước tính theo tháng chăm sóc: chọn đợt hoặc nhập tháng chăm sóc.</source>
        <translation>The charge columns are relative to the care month: choose a batch or enter a care month.</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Đang kiểm tra tệp (chưa lưu gì)…</source>
        <translation>Checking the file (nothing saved yet)…</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Dòng dữ liệu: {rows}
Mới: {new}
Cập nhật: {updated}
Không đổi: {unchanged}
Bị từ chối: {rejected} (trong đó trùng số thuê bao: {duplicates})
Chu kỳ cước: {cycles}</source>
        <translation>Data rows: {rows}
New: {new}
Updated: {updated}
Unchanged: {unchanged}
Rejected: {rejected} (of which duplicate subscriber numbers: {duplicates})
Billing cycles: {cycles}</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Kết quả kiểm tra (chưa lưu gì):</source>
        <translation>Check result (nothing saved yet):</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Thiếu số thuê bao</source>
        <translation>Missing subscriber number</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Số thuê bao không hợp lệ</source>
        <translation>Invalid subscriber number</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Thiếu loại thuê bao (trả trước/trả sau)</source>
        <translation>Missing subscriber type (prepaid/postpaid)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Loại thuê bao không rõ</source>
        <translation>Unknown subscriber type</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Thiếu trạng thái thuê bao</source>
        <translation>Missing subscriber status</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Trạng thái không rõ</source>
        <translation>Unknown status</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cước không đọc được</source>
        <translation>Unreadable charge</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ngày không đọc được</source>
        <translation>Unreadable date</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giá trị Có/Không không rõ</source>
        <translation>Unclear Yes/No value</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Không nhận ra tỉnh/thành phố</source>
        <translation>Unrecognised province/city</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Trùng số thuê bao (giữ dòng sau)</source>
        <translation>Duplicate subscriber number (later row kept)</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Đang nhập {name}…</source>
        <translation>Importing {name}…</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>{done} / {total} dòng · {rate} dòng/giây</source>
        <translation>{done} / {total} rows · {rate} rows/s</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Đang hủy và hoàn tác…</source>
        <translation>Cancelling and rolling back…</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Đã nhập xong {name}.</source>
        <translation>Finished importing {name}.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Xếp danh sách đợt {n}</source>
        <translation>Build the list for batch {n}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xếp danh sách đợt… (chưa chọn đợt)</source>
        <translation>Build batch list… (no batch chosen)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Đã nhập {count} thuê bao, từ chối {rejected} dòng</source>
        <translation>Imported {count} subscribers, rejected {rejected} rows</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="+1"/>
        <source>Đã tự sao lưu lúc {time}.</source>
        <translation>Backed up automatically at {time}.</translation>
    </message>
    <message>
        <source>Chưa tự sao lưu được: {reason}</source>
        <translation>Automatic backup failed: {reason}</translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="+257"/>
        <source>Làm &amp;mới</source>
        <translation>&amp;Refresh</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đọc lại dữ liệu từ cơ sở dữ liệu</source>
        <translation>Read the data again from the database</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Thoát</source>
        <translation>&amp;Quit</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>&amp;Giới thiệu</source>
        <translation>&amp;About</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>&amp;Tệp</source>
        <translation>&amp;File</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Trợ &amp;giúp</source>
        <translation>&amp;Help</translation>
    </message>
    <message>
        <location line="-203"/>
        <source>Đang đọc dữ liệu…</source>
        <translation>Reading data…</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>▣  Tổng quan</source>
        <translation>▣  Overview</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>⇪  Nhập dữ liệu</source>
        <translation>⇪  Import</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>☰  Danh sách chăm sóc</source>
        <translation>☰  Care list</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>⚙  Cài đặt</source>
        <translation>⚙  Settings</translation>
    </message>
    <message>
        <location line="+50"/>
        <source>Chào mừng đến với MBF Care</source>
        <translation>Welcome to MBF Care</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Tạo chương trình theo văn bản (CSKH 2017 – KV5)</source>
        <translation>Create the programme from the document (CSKH 2017 – Region 5)</translation>
    </message>
    <message>
        <location line="+158"/>
        <source>Chưa có chương trình</source>
        <translation>No programme yet</translation>
    </message>
    <message>
        <location line="+67"/>
        <source>Thuê bao đã lưu: {count}</source>
        <translation>Subscribers stored: {count}</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Khu vực:</source>
        <translation>Region:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Địa bàn:</source>
        <translation>Area:</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>{n} tỉnh/thành: {names}</source>
        <translation>{n} provinces: {names}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Mức cước căn cứ:</source>
        <translation>Charge basis:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nhóm:</source>
        <translation>Groups:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Đợt {number} – {month}</source>
        <translation>Batch {number} – {month}</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>Đợt (tháng chăm sóc):</source>
        <translation>Batches (care month):</translation>
    </message>
    <message>
        <location line="-326"/>
        <source>✦  Quầy trao quà</source>
        <translation>✦  Handover desk</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>▤  Kho quà</source>
        <translation>▤  Gift stock</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>✉  In ấn &amp; SMS</source>
        <translation>✉  Printing &amp; SMS</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>▥  Báo cáo</source>
        <translation>▥  Reports</translation>
    </message>
    <message>
        <location line="+56"/>
        <source>Cơ sở dữ liệu chưa có chương trình chăm sóc khách hàng nào.
Tạo chương trình theo văn bản CSKH 2017 của MobiFone KV5 (2 nhóm, 4 đợt) để bắt đầu, hoặc mở một cơ sở dữ liệu đã có.</source>
        <translation>The database has no customer care programme yet.
Create the programme from MobiFone Region 5&apos;s CSKH 2017 document (2 groups, 4 batches) to start, or open an existing database.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Dữ liệu được lưu tại: {db}</source>
        <translation>Data is stored in: {db}</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Mở cơ sở dữ liệu khác…</source>
        <translation>Open another database…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Kết nối máy chủ…</source>
        <translation>Connect to a server…</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>&amp;Mở cơ sở dữ liệu khác…</source>
        <translation>&amp;Open another database…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Kết nối máy chủ…</source>
        <translation>&amp;Connect to a server…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Xuất gửi KV5…</source>
        <translation>&amp;Export for Region 5…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Tệp Excel gửi MobiFone KV5</source>
        <translation>Excel file for MobiFone Region 5</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Nhập danh sách thuê bao…</source>
        <translation>&amp;Import subscriber list…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Ghi kết quả từ danh sách trả về…</source>
        <translation>&amp;Record results from a returned list…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Ghi nhiều bước cùng lúc từ tệp Excel quận/huyện gửi lại</source>
        <translation>Record many steps at once from the Excel file a district sent back</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nhập &amp;phiếu khảo sát…</source>
        <translation>Enter &amp;survey forms…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Sửa mẫu phiếu &amp;khảo sát…</source>
        <translation>Edit the &amp;survey form…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Xuất thông tin KH đã thu thập (iCRM)…</source>
        <translation>Export collected customer details (iCRM)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Tệp thông tin khách hàng đã thu thập để cập nhật lên iCRM</source>
        <translation>File of collected customer details for updating iCRM</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Xuất phiếu khảo sát (iCRM)…</source>
        <translation>Export survey forms (iCRM)…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Tệp kết quả khảo sát để cập nhật lên iCRM</source>
        <translation>File of survey results for updating iCRM</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Xếp danh sách đợt…</source>
        <translation>&amp;Build batch list…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Quyết định nhóm…</source>
        <translation>&amp;Group decisions…</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>&amp;Chương trình</source>
        <translation>&amp;Programme</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Dữ liệu</source>
        <translation>&amp;Data</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Xem</source>
        <translation>&amp;View</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Chương trình và đợt</source>
        <translation>Programme and batch</translation>
    </message>
    <message>
        <location line="+3"/>
        <source> Chương trình: </source>
        <translation> Programme: </translation>
    </message>
    <message>
        <location line="+5"/>
        <source>  Đợt: </source>
        <translation>  Batch: </translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Quản trị</source>
        <translation>Administrator</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Trưởng MF Quận/Huyện</source>
        <translation>District head</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phòng CSKH</source>
        <translation>Customer-care department</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Giao dịch viên</source>
        <translation>Clerk</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chỉ xem</source>
        <translation>View only</translation>
    </message>
    <message>
        <location line="+66"/>
        <location line="+30"/>
        <source>Đợt {number} ({month})</source>
        <translation>Batch {number} ({month})</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Chương trình:</source>
        <translation>Programme:</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>mỗi chu kỳ cước n-3, n-4, n-5 đều đạt ngưỡng (lấy mức thấp nhất)</source>
        <translation>each billing cycle n-3, n-4, n-5 meets the bound (the lowest counts)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>bình quân các chu kỳ cước n-3, n-4, n-5 (làm tròn xuống)</source>
        <translation>average of billing cycles n-3, n-4, n-5 (rounded down)</translation>
    </message>
    <message>
        <location line="+65"/>
        <source>Đã nhập {imported} thuê bao mới, cập nhật {updated}, từ chối {rejected} dòng.</source>
        <translation>Imported {imported} new subscribers, updated {updated}, rejected {rejected} rows.</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Mở cơ sở dữ liệu</source>
        <translation>Open database</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cơ sở dữ liệu MBF Care (*.sqlite *.db)</source>
        <translation>MBF Care databases (*.sqlite *.db)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Kết nối máy chủ</source>
        <translation>Connect to a server</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Địa chỉ máy chủ PostgreSQL, ví dụ
postgresql+psycopg://nguoidung:matkhau@192.168.1.10/mbfcare</source>
        <translation>PostgreSQL server address, e.g.
postgresql+psycopg://user:password@192.168.1.10/mbfcare</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Xuất tệp gửi MobiFone KV5</source>
        <translation>Export file for MobiFone Region 5</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tệp Excel (*.xlsx)</source>
        <translation>Excel files (*.xlsx)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Đã xuất {file} ({rows} dòng chi tiết).</source>
        <translation>Exported {file} ({rows} detail rows).</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Xuất tệp cập nhật iCRM</source>
        <translation>Export iCRM update file</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tệp Excel (*.xlsx);;Tệp CSV (*.csv)</source>
        <translation>Excel files (*.xlsx);;CSV files (*.csv)</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>Đã tạo biên bản {file}; máy này chưa có máy in mặc định để in ngay.</source>
        <translation>Receipt {file} created; this computer has no default printer to print it now.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Đã in biên bản giao nhận quà.</source>
        <translation>Gift handover receipt printed.</translation>
    </message>
    <message>
        <location line="+40"/>
        <source>Đang xử lý…</source>
        <translation>Working…</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>MBF Care {version}

Quản lý chương trình chăm sóc khách hàng và trao quà tặng của MobiFone (Khu vực 5).

Cơ sở dữ liệu: {db}
Thư mục dữ liệu: {home}</source>
        <translation>MBF Care {version}

Manages MobiFone (Region 5) customer care and gift programmes.

Database: {db}
Data folder: {home}</translation>
    </message>
    <message>
        <location line="-138"/>
        <source>Đã tạo chương trình số {id}.</source>
        <translation>Programme {id} created.</translation>
    </message>
    <message>
        <location line="+137"/>
        <source>Giới thiệu MBF Care</source>
        <translation>About MBF Care</translation>
    </message>
    <message>
        <source>Đổ&amp;i mật khẩu…</source>
        <translation>Change pass&amp;word…</translation>
    </message>
    <message>
        <source>Đăn&amp;g xuất</source>
        <translation>Si&amp;gn out</translation>
    </message>
    <message>
        <source>Đăng xuất và trở về màn hình đăng nhập</source>
        <translation>Sign out and return to the sign-in screen</translation>
    </message>
    <message>
        <source>Vai trò {role} không dùng phần này.</source>
        <translation>The role {role} does not use this section.</translation>
    </message>
</context>
<context>
    <name>MovementDialog</name>
    <message>
        <location filename="../../mbfcare/ui/stock_page.py" line="+164"/>
        <source>Nhập quà</source>
        <translation>Receive gifts</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chuyển quà</source>
        <translation>Transfer gifts</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Trả lại quà</source>
        <translation>Return gifts</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xuất hủy quà (hỏng)</source>
        <translation>Write off gifts (damaged)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>{name} (quà loại {n})</source>
        <translation>{name} (type {n} gift)</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>bắt buộc</source>
        <translation>required</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>không bắt buộc</source>
        <translation>optional</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Nhập</source>
        <translation>Receive</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Chuyển</source>
        <translation>Transfer</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Trả lại</source>
        <translation>Return</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xuất hủy</source>
        <translation>Write off</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hủy</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Món quà</source>
        <translation>&amp;Gift item</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Số lượng</source>
        <translation>&amp;Quantity</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Nhập về</source>
        <translation>Receive &amp;at</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Từ nơi</source>
        <translation>&amp;From</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Trả về</source>
        <translation>Return &amp;to</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Tại</source>
        <translation>&amp;At</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Đến &amp;nơi</source>
        <translation>&amp;To</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Lý do</source>
        <translation>&amp;Reason</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>Chưa có món quà nào: thêm quà trong Cài đặt chương trình.</source>
        <translation>No gift items yet: add them in the programme settings.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Cần ghi nơi để quà.</source>
        <translation>Enter where the gifts are kept.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Cần chọn nơi nhận.</source>
        <translation>Choose where the gifts go.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Nơi chuyển và nơi nhận là một.</source>
        <translation>The source and the destination are the same.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cần ghi lý do chuyển quà.</source>
        <translation>Enter a reason for the transfer.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cần ghi lý do xuất hủy.</source>
        <translation>Enter a reason for the write-off.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{place} chưa có {item}.</source>
        <translation>{place} has no {item}.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{place} chỉ còn {left} {item}, không đủ {wanted}.</source>
        <translation>{place} has only {left} {item}, not enough for {wanted}.</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Nơi mới: {place} sẽ được thêm vào danh sách nơi để quà.</source>
        <translation>New place: {place} will be added to the gift locations.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Hiện có tại {place}: {left} {item}.</source>
        <translation>On hand at {place}: {left} {item}.</translation>
    </message>
</context>
<context>
    <name>NumberLink</name>
    <message>
        <location filename="../../mbfcare/ui/dashboard.py" line="-386"/>
        <source>Mở danh sách chăm sóc: {what}</source>
        <translation>Open the care list: {what}</translation>
    </message>
</context>
<context>
    <name>OwedGiftDialog</name>
    <message>
        <location filename="../../mbfcare/ui/desk.py" line="-803"/>
        <location line="+19"/>
        <source>Ghi nợ quà</source>
        <translation>Record owed gift</translation>
    </message>
    <message>
        <location line="-8"/>
        <source>Ví dụ: KH chọn ô, cửa hàng hết ô</source>
        <translation>E.g. customer chose an umbrella; the store has none left</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ghi nợ %1 cho %2; trao khi cửa hàng có quà.</source>
        <translation>Record %1 as owed to %2; hand it over when the store has stock.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Hẹn ngày trao:</source>
        <translation>&amp;Promised date:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ghi &amp;chú:</source>
        <translation>&amp;Note:</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Hủy</source>
        <translation>Cancel</translation>
    </message>
</context>
<context>
    <name>PackageDialog</name>
    <message>
        <location filename="../../mbfcare/ui/profile_form.py" line="+526"/>
        <source>Tư vấn gói cước</source>
        <translation>Package advice</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Gói cước khách hàng đăng ký sau khi được tư vấn:</source>
        <translation>Package the customer registered after the advice:</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Không đăng ký gói nào</source>
        <translation>No package registered</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Khách hàng chưa có gói ưu đãi nào trong danh sách; gõ gói KH đăng ký hoặc chọn «Không đăng ký».</source>
        <translation>The customer has no offer package on the list; type the package the customer registered or choose «No package registered».</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>gói khác, gõ tên gói</source>
        <translation>another package: type its name</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Lưu</source>
        <translation>Save</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Ghi bước tư vấn gói cước (Enter)</source>
        <translation>Record the package advice step (Enter)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hủy</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đóng, không lưu (Esc)</source>
        <translation>Close without saving (Esc)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Gói &amp;khác:</source>
        <translation>&amp;Other package:</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>✓ Đã ghi ngày {day}: {package}.</source>
        <translation>✓ Recorded on {day}: {package}.</translation>
    </message>
    <message>
        <location line="+47"/>
        <source>Chọn gói cước khách hàng đăng ký, hoặc «Không đăng ký gói nào».</source>
        <translation>Choose the package the customer registered, or «No package registered».</translation>
    </message>
</context>
<context>
    <name>PreviewTableModel</name>
    <message>
        <location filename="../../mbfcare/ui/import_wizard.py" line="-843"/>
        <source>{letter} (ẩn)</source>
        <translation>{letter} (hidden)</translation>
    </message>
</context>
<context>
    <name>PrintPage</name>
    <message>
        <location filename="../../mbfcare/ui/print_page.py" line="+25"/>
        <source>Giấy tờ</source>
        <translation>Documents</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SMS</source>
        <translation>SMS</translation>
    </message>
</context>
<context>
    <name>ProfileFormDialog</name>
    <message>
        <location filename="../../mbfcare/ui/profile_form.py" line="-426"/>
        <source>Phiếu thu thập thông tin khách hàng</source>
        <translation>Customer information form</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Đang đọc thông tin khách hàng…</source>
        <translation>Reading customer details…</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>họ và tên như trên giấy tờ</source>
        <translation>full name as on the ID document</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>CCCD 12 số hoặc CMND 9 số</source>
        <translation>citizen ID (CCCD), 12 digits, or ID card (CMND), 9 digits</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+5"/>
        <source>dd/mm/yyyy</source>
        <translation>dd/mm/yyyy</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>số nhà, đường, phường/xã, tỉnh/thành phố</source>
        <translation>house number, street, ward/commune, province/city</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>vì sao sửa, ví dụ: gõ nhầm năm sinh</source>
        <translation>why it is changed, e.g. birth year mistyped</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>&amp;Họ tên:</source>
        <translation>&amp;Full name:</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Số &amp;CCCD/CMND:</source>
        <translation>&amp;Citizen ID (CCCD) / ID card (CMND):</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ngày &amp;sinh:</source>
        <translation>Date of &amp;birth:</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Đị&amp;a chỉ:</source>
        <translation>&amp;Address:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ngày thu thập:</source>
        <translation>Collected on:</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Lý do sửa:</source>
        <translation>&amp;Reason for change:</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Lưu</source>
        <translation>Save</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Lưu thông tin và ghi bước kiểm tra dữ liệu (Ctrl+Enter)</source>
        <translation>Save the details and record the data check step (Ctrl+Enter)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Hủy</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đóng, không lưu (Esc)</source>
        <translation>Close without saving (Esc)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Enter: sang ô tiếp theo · Ctrl+Enter: lưu · Esc: hủy</source>
        <translation>Enter: next field · Ctrl+Enter: save · Esc: cancel</translation>
    </message>
    <message>
        <location line="+54"/>
        <source>Không đọc được thông tin khách hàng.</source>
        <translation>Could not read the customer details.</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Ngày thu thập &apos;{text}&apos; không đúng (nhập ngày/tháng/năm, ví dụ 05/09/2017).</source>
        <translation>Collection date &apos;{text}&apos; is not valid (enter day/month/year, e.g. 05/09/2017).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Ngày thu thập {day} chưa tới.</source>
        <translation>Collection date {day} is in the future.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Thông tin này đã thu thập ngày {day}; sửa lại cần ghi lý do.</source>
        <translation>These details were collected on {day}; changing them needs a reason.</translation>
    </message>
</context>
<context>
    <name>RecordDialog</name>
    <message>
        <location filename="../../mbfcare/ui/record_dialogs.py" line="+50"/>
        <source>Ghi bước đã làm</source>
        <translation>Record a completed step</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Ghi kết quả</source>
        <translation>Record result</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hủy một bước đã ghi</source>
        <translation>Undo a recorded step</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Kết quả</source>
        <translation>Result</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>để trống: người đang dùng máy</source>
        <translation>leave blank: the current user</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Khách hàng:</source>
        <translation>Customer:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bước:</source>
        <translation>Step:</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Kết quả:</source>
        <translation>Result:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hủy:</source>
        <translation>Undo:</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Ngày:</source>
        <translation>Date:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Người làm:</source>
        <translation>Done by:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ghi chú / giá trị:</source>
        <translation>Note / value:</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Ghi chú:</source>
        <translation>Note:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lý do (bắt buộc):</source>
        <translation>Reason (required):</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Cần ghi lý do.</source>
        <translation>A reason is required.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Kết quả &apos;Khác&apos; cần ghi chú.</source>
        <translation>Result &apos;Other&apos; needs a note.</translation>
    </message>
</context>
<context>
    <name>RegionalPanel</name>
    <message>
        <location filename="../../mbfcare/ui/reports_page.py" line="+26"/>
        <source>Xuất tệp gửi MBF KV5…</source>
        <translation>Export file for MBF KV5…</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Tệp Excel theo mẫu của MBF KV5: ChiTiet (mỗi KH một dòng, kết quả chăm sóc), TongHop, KhoQua, KhaoSat, ThongTin (quy định áp dụng, mã SHA-256 để KV5 phát hiện tệp bị sửa).</source>
        <translation>Excel file in the MBF KV5 layout: ChiTiet (one row per customer, care results), TongHop, KhoQua, KhaoSat, ThongTin (rules applied, SHA-256 code so KV5 can detect edited files).</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>Đã xuất {file}
{rows}
SHA-256 ChiTiet: {sha}</source>
        <translation>Exported {file}
{rows}
SHA-256 ChiTiet: {sha}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Đã xuất tệp gửi MBF KV5.</source>
        <translation>File for MBF KV5 exported.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Xuất tệp gửi MBF KV5</source>
        <translation>Export file for MBF KV5</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tệp Excel (*.xlsx)</source>
        <translation>Excel files (*.xlsx)</translation>
    </message>
</context>
<context>
    <name>ReportPanel</name>
    <message>
        <location line="-282"/>
        <location line="+36"/>
        <source>Cả chương trình</source>
        <translation>Whole programme</translation>
    </message>
    <message>
        <location line="-35"/>
        <source>Xem (F5)</source>
        <translation>View (F5)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Lưu PDF…</source>
        <translation>Save PDF…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lưu Excel…</source>
        <translation>Save Excel…</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Đợt:</source>
        <translation>Batch:</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Đợt {n}</source>
        <translation>Batch {n}</translation>
    </message>
    <message>
        <location line="+51"/>
        <source>Tệp PDF (*.pdf)</source>
        <translation>PDF files (*.pdf)</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Tệp Excel (*.xlsx)</source>
        <translation>Excel files (*.xlsx)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Lưu báo cáo</source>
        <translation>Save report</translation>
    </message>
</context>
<context>
    <name>ReportsPage</name>
    <message>
        <location line="+207"/>
        <source>Tiến độ chăm sóc</source>
        <translation>Care progress</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Kết quả khảo sát</source>
        <translation>Survey results</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Quyết toán quà (kho)</source>
        <translation>Gift reconciliation (stock)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xuất gửi KV5</source>
        <translation>Export for KV5</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tổng hợp các tỉnh (KV5)</source>
        <translation>Consolidate provinces (KV5)</translation>
    </message>
    <message>
        <source>Nhật ký thao tác</source>
        <translation>Activity log</translation>
    </message>
</context>
<context>
    <name>ResetPasswordDialog</name>
    <message>
        <source>Đặt lại mật khẩu cho {name}</source>
        <translation>Reset the password of {name}</translation>
    </message>
    <message>
        <source>Mật khẩu mới:</source>
        <translation>New password:</translation>
    </message>
    <message>
        <source>Nhập lại:</source>
        <translation>Again:</translation>
    </message>
    <message>
        <source>Đặt mật khẩu</source>
        <translation>Set password</translation>
    </message>
    <message>
        <source>Hủy</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>Hai lần nhập mật khẩu chưa giống nhau.</source>
        <translation>The two passwords are not the same.</translation>
    </message>
</context>
<context>
    <name>SettingsWidget</name>
    <message>
        <location filename="../../mbfcare/ui/settings_page.py" line="+1"/>
        <source>Cơ sở dữ liệu</source>
        <translation>Database</translation>
    </message>
    <message>
        <location filename="../../mbfcare/ui/settings_page.py" line="+192"/>
        <source>Chương trình</source>
        <translation>Programme</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Mẫu giấy tờ</source>
        <translation>Document templates</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ngôn ngữ</source>
        <translation>Language</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Chưa có chương trình để cài đặt.</source>
        <translation>No programme to configure yet.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Đang đọc chương trình…</source>
        <translation>Reading the programme…</translation>
    </message>
    <message>
        <location line="+66"/>
        <source>Hoàn tác</source>
        <translation>Revert</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bỏ các sửa đổi chưa lưu</source>
        <translation>Discard unsaved changes</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Lưu</source>
        <translation>Save</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lưu chương trình (Ctrl+S)</source>
        <translation>Save the programme (Ctrl+S)</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Thông tin chung</source>
        <translation>General</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Tên chương trình:</source>
        <translation>Programme name:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Năm:</source>
        <translation>Year:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Khu vực:</source>
        <translation>Region:</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Mức cước căn cứ (chu kỳ n-3, n-4, n-5)</source>
        <translation>Charge basis (cycles n-3, n-4, n-5)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Mỗi chu kỳ đều đạt (mặc định)</source>
        <translation>Every cycle meets it (default)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bình quân 3 chu kỳ</source>
        <translation>Average of 3 cycles</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Năm sử dụng</source>
        <translation>Years of use</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Các mốc (năm), cách nhau bằng dấu phẩy:</source>
        <translation>Thresholds (years), comma-separated:</translation>
    </message>
    <message>
        <location line="+12"/>
        <location line="+4"/>
        <source>Nhóm</source>
        <translation>Group</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+49"/>
        <source>Tên</source>
        <translation>Name</translation>
    </message>
    <message>
        <location line="-49"/>
        <source>Cận dưới</source>
        <translation>Lower bound</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cận trên</source>
        <translation>Upper bound</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cách trao quà</source>
        <translation>Delivery</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Quà</source>
        <translation>Gift</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Thêm nhóm</source>
        <translation>Add group</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Bỏ nhóm đang chọn</source>
        <translation>Remove selected group</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Đợt và tháng chăm sóc</source>
        <translation>Batches and care months</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Thêm đợt</source>
        <translation>Add batch</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Bỏ đợt đang chọn</source>
        <translation>Remove selected batch</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Quà tặng</source>
        <translation>Gifts</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Loại quà / mã</source>
        <translation>Gift type / code</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Thêm loại quà</source>
        <translation>Add gift type</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Thêm món quà</source>
        <translation>Add gift item</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Bỏ</source>
        <translation>Remove</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Địa bàn</source>
        <translation>Area</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Lọc tỉnh/thành…</source>
        <translation>Filter provinces…</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Lịch sử thay đổi</source>
        <translation>Change history</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Lúc</source>
        <translation>When</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Người sửa</source>
        <translation>Changed by</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phiên bản quy tắc</source>
        <translation>Rules version</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Thay đổi</source>
        <translation>Change</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Ngôn ngữ giao diện</source>
        <translation>Interface language</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Chưa có danh sách chăm sóc nào: sửa thoải mái.</source>
        <translation>No care list yet: edit freely.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>🔒 Đã có {count} KH trong danh sách đợt {batches} (đã chốt).</source>
        <translation>🔒 {count} customers already in the list for batch {batches} (locked).</translation>
    </message>
    <message>
        <location line="+14"/>
        <location line="+66"/>
        <location line="+296"/>
        <location line="+41"/>
        <source>Quà loại {n}</source>
        <translation>Type {n} gift</translation>
    </message>
    <message>
        <location line="-378"/>
        <source>không có</source>
        <translation>none</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+1"/>
        <source>tính cả</source>
        <translation>inclusive</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>MBF đến tặng</source>
        <translation>MBF delivers</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>KH đến cửa hàng nhận</source>
        <translation>Customer collects at store</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Để trống (bấm xuống hết cỡ): không có cận dưới</source>
        <translation>Leave empty (step all the way down): no lower bound</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Để trống (bấm xuống hết cỡ): không có cận trên</source>
        <translation>Leave empty (step all the way down): no upper bound</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Loại {n} – {name}</source>
        <translation>Type {n} – {name}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Loại {n} (không còn)</source>
        <translation>Type {n} (removed)</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Đợt</source>
        <translation>Batch</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Tháng chăm sóc</source>
        <translation>Care month</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Loại {n} (dự kiến)</source>
        <translation>Type {n} (planned)</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>MM/YYYY</source>
        <translation>MM/YYYY</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tháng chăm sóc n, viết MM/YYYY; mức cước căn cứ là các chu kỳ n-3, n-4, n-5</source>
        <translation>Care month n, written MM/YYYY; the charge basis uses cycles n-3, n-4, n-5</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>không giới hạn</source>
        <translation>unlimited</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Số quà dự kiến cho đợt; quá số này KH chờ theo thứ tự</source>
        <translation>Planned gifts for the batch; beyond this, customers wait in order</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>(không rõ)</source>
        <translation>(unknown)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Chưa có thay đổi nào.</source>
        <translation>No changes yet.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Chưa có chương trình.</source>
        <translation>No programme yet.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Năm sử dụng: chỉ ghi số năm, cách nhau bằng dấu phẩy (ví dụ 0, 2, 5, 10).</source>
        <translation>Years of use: numbers of years only, comma-separated (e.g. 0, 2, 5, 10).</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Đợt {n}: tháng chăm sóc phải viết MM/YYYY, ví dụ 09/2017.</source>
        <translation>Batch {n}: the care month must be written MM/YYYY, e.g. 09/2017.</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>⚠ Chưa có nhóm nào: không ai được xếp nhóm.</source>
        <translation>⚠ No groups yet: nobody will be assigned a group.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>✓ Các nhóm liền nhau, không chồng lấn</source>
        <translation>✓ The groups are contiguous and do not overlap</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>✗ Tháng chăm sóc của đợt {batches} phải viết MM/YYYY.</source>
        <translation>✗ The care month of batch {batches} must be written MM/YYYY.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Đã chọn {n} tỉnh/thành</source>
        <translation>{n} provinces selected</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>⚠ Nhóm {n} không chứa mức cước nào</source>
        <translation>⚠ Group {n} contains no charge level</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>⚠ {amount} không thuộc nhóm nào</source>
        <translation>⚠ {amount} is in no group</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>⚠ Từ {low} đến {high} không thuộc nhóm nào</source>
        <translation>⚠ {low} to {high} is in no group</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>từ {low} trở lên</source>
        <translation>{low} and above</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>đúng {amount}</source>
        <translation>exactly {amount}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>từ {low} đến {high}</source>
        <translation>from {low} to {high}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>⚠ Nhóm {a} và Nhóm {b} chồng lấn: cả hai chứa mức {where}</source>
        <translation>⚠ Group {a} and Group {b} overlap: both contain {where}</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>từ {low} năm</source>
        <translation>{low}+ years</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>dưới {high} năm</source>
        <translation>under {high} years</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{low}–{high} năm</source>
        <translation>{low}–{high} years</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Có sửa đổi chưa lưu.</source>
        <translation>There are unsaved changes.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đã lưu.</source>
        <translation>Saved.</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>Nhóm {n}</source>
        <translation>Group {n}</translation>
    </message>
    <message>
        <location line="+134"/>
        <source>Đang lưu…</source>
        <translation>Saving…</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Chưa lưu: đã hủy.</source>
        <translation>Not saved: cancelled.</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Đã lưu chương trình ({n} thay đổi, phiên bản quy tắc {v}).</source>
        <translation>Programme saved ({n} changes, rules version {v}).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Không có gì thay đổi.</source>
        <translation>Nothing changed.</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Đã lưu. Một số chữ đổi hẳn khi mở lại chương trình.</source>
        <translation>Saved. Some text changes fully only when the program is restarted.</translation>
    </message>
    <message>
        <source>Người dùng</source>
        <translation>Users</translation>
    </message>
    <message>
        <source>Chỉ quản trị (Phòng CSKH) thay đổi chương trình.</source>
        <translation>Only the administrator (customer-care department) changes the programme.</translation>
    </message>
    <message>
        <source>Bảo vệ dữ liệu cá nhân</source>
        <translation>Personal data protection</translation>
    </message>
</context>
<context>
    <name>SignInDialog</name>
    <message>
        <source>Đăng nhập MBF Care</source>
        <translation>Sign in to MBF Care</translation>
    </message>
    <message>
        <source>Tên đăng nhập:</source>
        <translation>User name:</translation>
    </message>
    <message>
        <source>Mật khẩu:</source>
        <translation>Password:</translation>
    </message>
    <message>
        <source>Đăng nhập</source>
        <translation>Sign in</translation>
    </message>
    <message>
        <source>Thoát</source>
        <translation>Quit</translation>
    </message>
    <message>
        <source>Nhập tên đăng nhập.</source>
        <translation>Type your user name.</translation>
    </message>
    <message>
        <source>Đang kiểm tra…</source>
        <translation>Checking…</translation>
    </message>
</context>
<context>
    <name>SmsPanel</name>
    <message>
        <location filename="../../mbfcare/ui/sms_panel.py" line="+135"/>
        <source> ngày</source>
        <translation> days</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Không dấu (rẻ hơn: mỗi tin 160 ký tự)</source>
        <translation>Without diacritics (cheaper: 160 characters per SMS)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Lưu mẫu tin</source>
        <translation>Save templates</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Về mẫu mặc định</source>
        <translation>Restore default templates</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Mẫu tin nhắn</source>
        <translation>Message templates</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Nhóm 1 – thông báo (MBF đến tặng):</source>
        <translation>Group 1 – notice (MBF delivers the gift):</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Nhóm 2 – mời đến cửa hàng nhận quà:</source>
        <translation>Group 2 – invitation to collect the gift at the store:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Hạn nhận quà ({han}) sau ngày lập danh sách:</source>
        <translation>Collection deadline ({han}) after the list date:</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Xuất danh sách SMS…</source>
        <translation>Export SMS list…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tệp CSV hoặc Excel cho tổng đài SMS: số 84…, nội dung</source>
        <translation>CSV or Excel file for the SMS gateway: 84… number, message</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Đánh dấu đã gửi SMS</source>
        <translation>Mark SMS as sent</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ghi bước 1 (gửi SMS) cho các KH trong danh sách</source>
        <translation>Record step 1 (send SMS) for the customers in the list</translation>
    </message>
    <message>
        <location line="+96"/>
        <source>Ví dụ: {count}</source>
        <translation>Example: {count}</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Chỗ điền: </source>
        <translation>Placeholders: </translation>
    </message>
    <message>
        <location line="+11"/>
        <source>{messages} tin nhắn · {parts} tin SMS tính cước (không dấu: {plain}) · đã gửi: {sent} · từ chối nhận SMS: {opted} · không gửi: {skipped}</source>
        <translation>{messages} messages · {parts} billable SMS (without diacritics: {plain}) · sent: {sent} · opted out of SMS: {opted} · not sent: {skipped}</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>Đã lưu mẫu tin nhắn.</source>
        <translation>Message templates saved.</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Xuất danh sách SMS</source>
        <translation>Export SMS list</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tệp CSV (*.csv);;Tệp Excel (*.xlsx)</source>
        <translation>CSV files (*.csv);;Excel files (*.xlsx)</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Không còn KH nào chưa ghi gửi SMS trong đợt này.</source>
        <translation>Every customer in this batch already has the SMS recorded as sent.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Ghi đã gửi SMS hôm nay cho {n} KH của đợt {batch}?</source>
        <translation>Record SMS as sent today for {n} customers of batch {batch}?</translation>
    </message>
</context>
<context>
    <name>SmsRowsModel</name>
    <message>
        <location line="-305"/>
        <source>Số thuê bao</source>
        <translation>Subscriber number</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Họ tên</source>
        <translation>Name</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Loại tin</source>
        <translation>Message type</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nội dung</source>
        <translation>Message</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Số tin</source>
        <translation>SMS count</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Đã gửi</source>
        <translation>Sent</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Thông báo (nhóm 1)</source>
        <translation>Notice (group 1)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mời nhận quà (nhóm 2)</source>
        <translation>Invitation (group 2)</translation>
    </message>
</context>
<context>
    <name>StockPage</name>
    <message>
        <location filename="../../mbfcare/ui/stock_page.py" line="+42"/>
        <source>Nhập quà (Ctrl+N)</source>
        <translation>Receive gifts (Ctrl+N)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nhập quà về kho hoặc cửa hàng</source>
        <translation>Receive gifts into the warehouse or a store</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chuyển quà (Ctrl+T)</source>
        <translation>Transfer gifts (Ctrl+T)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chuyển quà từ nơi này đến nơi khác (cần lý do)</source>
        <translation>Move gifts from one place to another (reason required)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>T&amp;rả lại</source>
        <translation>&amp;Return</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nhận lại quà đã xuất (Alt+R)</source>
        <translation>Take back gifts that were issued (Alt+R)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xuất &amp;hủy (hỏng)</source>
        <translation>&amp;Write off (damaged)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xuất hủy quà hỏng (cần lý do, Alt+H)</source>
        <translation>Write off damaged gifts (reason required, Alt+W)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xuất &amp;Excel</source>
        <translation>Export to &amp;Excel</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Xuất tồn kho, sổ kho và quà nợ ra tệp Excel; tệp mở ở thẻ đang xem (Alt+E)</source>
        <translation>Export stock on hand, the stock ledger and owed gifts to an Excel file; it opens on the current tab (Alt+E)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Biểu tượng cảnh báo ở cột Còn: chữ nâu là sắp hết (dưới 5), chữ đỏ là không đủ trả quà nợ ở nơi đó.</source>
        <translation>Warning icon in the On hand column: brown means running low (under 5), red means not enough to cover the owed gifts there.</translation>
    </message>
    <message>
        <location line="+7"/>
        <location line="+265"/>
        <source>Tất cả</source>
        <translation>All</translation>
    </message>
    <message>
        <location line="-258"/>
        <source>Trao quà &amp;nợ</source>
        <translation>Ha&amp;nd over owed gift</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Trao món quà nợ của khách hàng đang chọn: quà xuất khỏi nơi ghi nợ (Alt+N)</source>
        <translation>Hand over the selected customer&apos;s owed gift: it leaves the place where it was owed (Alt+N)</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Tồn kho</source>
        <translation>Stock on hand</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sổ kho</source>
        <translation>Stock ledger</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+287"/>
        <source>Quà nợ</source>
        <translation>Owed gifts</translation>
    </message>
    <message>
        <location line="-90"/>
        <source>Món &amp;quà</source>
        <translation>Gift &amp;item</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Nơi</source>
        <translation>&amp;Place</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Loại</source>
        <translation>&amp;Type</translation>
    </message>
    <message>
        <location line="+67"/>
        <source>⚠ {reason} Vẫn xem được tồn kho, sổ kho và quà nợ.</source>
        <translation>⚠ {reason} Stock on hand, the ledger and owed gifts can still be viewed.</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Còn {n} món trong kho và cửa hàng</source>
        <translation>{n} items on hand in the warehouse and stores</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{n} dòng sắp hết</source>
        <translation>{n} lines running low</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{n} quà nợ</source>
        <translation>{n} owed gifts</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{n} quá hẹn</source>
        <translation>{n} overdue</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Quà nợ ({n})</source>
        <translation>Owed gifts ({n})</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{n} dòng</source>
        <translation>{n} rows</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Chọn một khách hàng để trao quà nợ.</source>
        <translation>Select a customer to hand over the owed gift.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Không còn quà nợ nào.</source>
        <translation>No owed gifts left.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{place} còn {left} {item}: trao được.</source>
        <translation>{place} has {left} {item}: can hand over.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>⚠ {place} chưa có {item}: nhập quà hoặc chuyển quà đến trước khi trao.</source>
        <translation>⚠ {place} has no {item}: receive or transfer gifts there before handing over.</translation>
    </message>
    <message>
        <location line="+122"/>
        <source>Xuất kho quà ra Excel</source>
        <translation>Export gift stock to Excel</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Tệp Excel (*.xlsx)</source>
        <translation>Excel files (*.xlsx)</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Đã xuất kho quà ra tệp {file}.</source>
        <translation>Gift stock exported to {file}.</translation>
    </message>
</context>
<context>
    <name>StockTableModel</name>
    <message>
        <location filename="../../mbfcare/ui/tablemodels/stock.py" line="+55"/>
        <source>Nhập kho</source>
        <translation>Received</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+181"/>
        <source>Chuyển đi</source>
        <translation>Transferred out</translation>
    </message>
    <message>
        <location line="-180"/>
        <location line="+178"/>
        <source>Chuyển đến</source>
        <translation>Transferred in</translation>
    </message>
    <message>
        <location line="-177"/>
        <source>Trao quà</source>
        <translation>Handed over</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+182"/>
        <source>Trả lại</source>
        <translation>Returned</translation>
    </message>
    <message>
        <location line="-181"/>
        <source>Xuất hủy (hỏng)</source>
        <translation>Written off (damaged)</translation>
    </message>
    <message>
        <location line="+167"/>
        <location line="+62"/>
        <location line="+37"/>
        <source>Nơi</source>
        <translation>Place</translation>
    </message>
    <message>
        <location line="-97"/>
        <location line="+58"/>
        <location line="+37"/>
        <source>Món quà</source>
        <translation>Gift item</translation>
    </message>
    <message>
        <location line="-93"/>
        <location line="+54"/>
        <source>Loại</source>
        <translation>Type</translation>
    </message>
    <message>
        <location line="-52"/>
        <source>Nhập</source>
        <translation>Received</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Đã trao</source>
        <translation>Handed over</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Hủy</source>
        <translation>Written off</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Nợ</source>
        <translation>Owed</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Còn</source>
        <translation>On hand</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Không đủ trả {owed} quà nợ ở đây: còn {left}.</source>
        <translation>Not enough to cover {owed} owed gifts here: {left} on hand.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Sắp hết: còn dưới {n}.</source>
        <translation>Running low: fewer than {n} left.</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Thời gian</source>
        <translation>Time</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Số lượng</source>
        <translation>Quantity</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Nơi kia</source>
        <translation>Other place</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Người</source>
        <translation>By</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Lý do</source>
        <translation>Reason</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+21"/>
        <source>Thuê bao</source>
        <translation>Subscriber</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Họ tên</source>
        <translation>Name</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Ngày ghi nợ</source>
        <translation>Owed since</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Ngày hẹn</source>
        <translation>Promised date</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>quá hẹn</source>
        <translation>overdue</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Đã quá ngày hẹn {days} ngày.</source>
        <translation>{days} days past the promised date.</translation>
    </message>
</context>
<context>
    <name>SurveyEntryDialog</name>
    <message>
        <location filename="../../mbfcare/ui/survey_entry.py" line="+110"/>
        <source>Nhập phiếu khảo sát</source>
        <translation>Enter survey forms</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Quét mã phiếu hoặc nhập số thuê bao:</source>
        <translation>&amp;Scan the form code or enter a subscriber number:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>MBFC-S-… hoặc 0912 345 678</source>
        <translation>MBFC-S-… or 0912 345 678</translation>
    </message>
    <message>
        <location line="+8"/>
        <location line="+315"/>
        <source>Chưa chọn khách hàng.</source>
        <translation>No customer selected.</translation>
    </message>
    <message>
        <location line="-296"/>
        <source>&amp;Ngày khảo sát:</source>
        <translation>Survey &amp;date:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Lý do sửa phiếu:</source>
        <translation>&amp;Reason for the edit:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>bắt buộc khi sửa phiếu đã nhập</source>
        <translation>required when editing a form already entered</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Lưu phiếu (Ctrl+Enter)</source>
        <translation>Save form (Ctrl+Enter)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phiếu khác</source>
        <translation>Another form</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bỏ phiếu đang nhập, quét phiếu khác</source>
        <translation>Discard the form being entered and scan another</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đóng (Esc)</source>
        <translation>Close (Esc)</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>Ghi nguyên văn câu trả lời</source>
        <translation>Write the answer word for word</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>(chọn nhiều: gõ các số, ví dụ 1 3)</source>
        <translation>(multiple choice: type the numbers, e.g. 1 3)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>(không bắt buộc)</source>
        <translation>(optional)</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>ví dụ 1 3</source>
        <translation>e.g. 1 3</translation>
    </message>
    <message>
        <location line="+8"/>
        <location line="+17"/>
        <source>Câu {n}</source>
        <translation>Question {n}</translation>
    </message>
    <message>
        <location line="+61"/>
        <source>Quét mã của phiếu tiếp theo.</source>
        <translation>Scan the code of the next form.</translation>
    </message>
    <message>
        <location line="+79"/>
        <source>Đang tìm…</source>
        <translation>Searching…</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Phiếu đã nhập ngày {day} (người nhập: {who}); lưu lại là sửa phiếu, cần ghi lý do.</source>
        <translation>Form already entered on {day} (by {who}); saving again edits it and needs a reason.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Gõ câu trả lời theo phiếu giấy; Enter sang câu sau, Enter ở câu cuối để lưu.</source>
        <translation>Type the answers from the paper form; Enter moves to the next question, Enter on the last one saves.</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Quét mã phiếu (hoặc nhập số thuê bao) trước.</source>
        <translation>Scan the form code (or enter a subscriber number) first.</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Còn {n} câu chưa đúng; sửa rồi lưu lại.</source>
        <translation>{n} answers are not valid; correct them and save again.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Phiếu này đã nhập: ghi lý do sửa rồi lưu.</source>
        <translation>This form was already entered: give a reason for the edit, then save.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Đang lưu…</source>
        <translation>Saving…</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Đã lưu phiếu của {who}.</source>
        <translation>Saved the form for {who}.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Đã nhập {n} phiếu trong lần này.</source>
        <translation>{n} forms entered this session.</translation>
    </message>
</context>
<context>
    <name>SurveyFormEditor</name>
    <message>
        <location filename="../../mbfcare/ui/survey_form_editor.py" line="+334"/>
        <source>&amp;Tiêu đề phiếu:</source>
        <translation>&amp;Title:</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Lời &amp;giới thiệu:</source>
        <translation>&amp;Introduction:</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Câu đang chọn</source>
        <translation>Selected question</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Chữ thường không dấu, số hoặc &apos;_&apos;; câu trả lời được lưu theo khóa này.</source>
        <translation>Lowercase letters without accents, digits or &apos;_&apos;; answers are stored under this key.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Khóa:</source>
        <translation>&amp;Key:</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Câu hỏi:</source>
        <translation>&amp;Question:</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Loại:</source>
        <translation>T&amp;ype:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lựa c&amp;họn
(mỗi dòng một):</source>
        <translation>&amp;Options
(one per line):</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Nhãn điểm 1:</source>
        <translation>Label for 1:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>ví dụ: Rất không hài lòng</source>
        <translation>e.g. Very dissatisfied</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Nhãn điểm 5:</source>
        <translation>Label for 5:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>ví dụ: Rất hài lòng</source>
        <translation>e.g. Very satisfied</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Bắt buộc trả lời</source>
        <translation>&amp;Required</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Thêm câu (Ins)</source>
        <translation>Add question (Ins)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xóa câu (Del)</source>
        <translation>Delete question (Del)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lên (Alt+↑)</source>
        <translation>Up (Alt+↑)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xuống (Alt+↓)</source>
        <translation>Down (Alt+↓)</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Đang tải phiếu khảo sát…</source>
        <translation>Loading the survey form…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nạp mẫu mặc định</source>
        <translation>Load default form</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bỏ thay đổi</source>
        <translation>Discard changes</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lưu (Ctrl+S)</source>
        <translation>Save (Ctrl+S)</translation>
    </message>
    <message>
        <location line="+102"/>
        <source>⚠ {n} phiếu đã trả lời câu này: sửa hay bỏ câu thì các phiếu đó vẫn giữ theo phiên bản cũ.</source>
        <translation>⚠ {n} forms have answered this question: if you edit or remove it, those forms keep the old version.</translation>
    </message>
    <message>
        <location line="+64"/>
        <source>Câu {n} (&apos;{key}&apos;) đã có {count} phiếu trả lời. Bỏ câu này khỏi phiếu? Các câu trả lời cũ vẫn giữ theo phiên bản đã trả lời.</source>
        <translation>Question {n} (&apos;{key}&apos;) already has {count} answered forms. Remove it from the form? Earlier answers stay with the version they answered.</translation>
    </message>
    <message>
        <location line="+65"/>
        <source>Phiên bản {v} · {n} phiếu đã nhập</source>
        <translation>Version {v} · {n} forms entered</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>có thay đổi chưa lưu</source>
        <translation>unsaved changes</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>vai trò của bạn chỉ được xem phiếu khảo sát</source>
        <translation>your role can only view the survey form</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Thay phiếu đang sửa bằng phiếu mẫu mặc định? Chỉ lưu khi bấm «Lưu».</source>
        <translation>Replace the form being edited with the default form? Nothing is saved until you click «Save».</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Lưu phiếu khảo sát phiên bản {v}? Thay đổi này chạm tới câu đã có phiếu trả lời.</source>
        <translation>Save survey form version {v}? This change affects questions that already have answers.</translation>
    </message>
</context>
<context>
    <name>SurveyFormEditorDialog</name>
    <message>
        <location line="+33"/>
        <source>Phiếu khảo sát của chương trình</source>
        <translation>Programme survey form</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Đóng</source>
        <translation>Close</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Phiếu khảo sát có thay đổi chưa lưu. Đóng và bỏ các thay đổi?</source>
        <translation>The survey form has unsaved changes. Close and discard them?</translation>
    </message>
</context>
<context>
    <name>SurveyQuestionsModel</name>
    <message>
        <location line="-651"/>
        <source>Thang điểm 1–5</source>
        <translation>Scale 1–5</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chọn một</source>
        <translation>Single choice</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chọn nhiều</source>
        <translation>Multiple choice</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Trả lời tự do</source>
        <translation>Free text</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Câu</source>
        <translation>No.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Khóa</source>
        <translation>Key</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Câu hỏi</source>
        <translation>Question</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Loại</source>
        <translation>Type</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lựa chọn / nhãn</source>
        <translation>Options / labels</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bắt buộc</source>
        <translation>Required</translation>
    </message>
    <message>
        <location line="+110"/>
        <source>Có</source>
        <translation>Yes</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Không</source>
        <translation>No</translation>
    </message>
</context>
<context>
    <name>UserDialog</name>
    <message>
        <source>Sửa người dùng</source>
        <translation>Edit user</translation>
    </message>
    <message>
        <source>Thêm người dùng</source>
        <translation>Add user</translation>
    </message>
    <message>
        <source>Được đăng nhập</source>
        <translation>May sign in</translation>
    </message>
    <message>
        <source>Tên đăng nhập:</source>
        <translation>User name:</translation>
    </message>
    <message>
        <source>Họ tên:</source>
        <translation>Full name:</translation>
    </message>
    <message>
        <source>Vai trò:</source>
        <translation>Role:</translation>
    </message>
    <message>
        <source>Quận/huyện:</source>
        <translation>District:</translation>
    </message>
    <message>
        <source>Cửa hàng:</source>
        <translation>Store:</translation>
    </message>
    <message>
        <source>Mật khẩu:</source>
        <translation>Password:</translation>
    </message>
    <message>
        <source>Lưu</source>
        <translation>Save</translation>
    </message>
    <message>
        <source>Hủy</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>Cần tên đăng nhập và họ tên.</source>
        <translation>A user name and a full name are needed.</translation>
    </message>
    <message>
        <source>Trưởng MF Quận/Huyện cần chọn quận/huyện phụ trách.</source>
        <translation>A district head needs the district he is in charge of.</translation>
    </message>
    <message>
        <source>Giao dịch viên cần chọn cửa hàng làm việc.</source>
        <translation>A clerk needs the store he works at.</translation>
    </message>
</context>
<context>
    <name>UsersTableModel</name>
    <message>
        <source>Quản trị (Phòng CSKH)</source>
        <translation>Administrator (customer-care department)</translation>
    </message>
    <message>
        <source>Trưởng MF Quận/Huyện</source>
        <translation>District head</translation>
    </message>
    <message>
        <source>Giao dịch viên</source>
        <translation>Clerk</translation>
    </message>
    <message>
        <source>Chỉ xem</source>
        <translation>Viewer</translation>
    </message>
    <message>
        <source>Tên đăng nhập</source>
        <translation>User name</translation>
    </message>
    <message>
        <source>Họ tên</source>
        <translation>Full name</translation>
    </message>
    <message>
        <source>Vai trò</source>
        <translation>Role</translation>
    </message>
    <message>
        <source>Quận/huyện hoặc cửa hàng</source>
        <translation>District or store</translation>
    </message>
    <message>
        <source>Trạng thái</source>
        <translation>State</translation>
    </message>
    <message>
        <source>Đăng nhập gần nhất</source>
        <translation>Last sign-in</translation>
    </message>
    <message>
        <source>Đang dùng</source>
        <translation>Active</translation>
    </message>
    <message>
        <source>Đã khóa</source>
        <translation>Disabled</translation>
    </message>
</context>
<context>
    <name>UsersWidget</name>
    <message>
        <source>Mỗi người dùng đăng nhập bằng tài khoản riêng. Trưởng MF Quận/Huyện chỉ thấy quận/huyện của mình, giao dịch viên chỉ thấy cửa hàng của mình; người xem chỉ xem tổng quan và báo cáo.</source>
        <translation>Everyone signs in with an account of his own. A district head sees only his district, a clerk only his store; a viewer sees only the overview and the reports.</translation>
    </message>
    <message>
        <source>Thêm người dùng…</source>
        <translation>Add user…</translation>
    </message>
    <message>
        <source>Sửa…</source>
        <translation>Edit…</translation>
    </message>
    <message>
        <source>Đặt lại mật khẩu…</source>
        <translation>Reset password…</translation>
    </message>
    <message>
        <source>Đã thêm người dùng {name}.</source>
        <translation>User {name} added.</translation>
    </message>
    <message>
        <source>Đã lưu người dùng {name}.</source>
        <translation>User {name} saved.</translation>
    </message>
    <message>
        <source>Đã đặt mật khẩu mới cho {name}.</source>
        <translation>New password set for {name}.</translation>
    </message>
</context>
<context>
    <name>DatabaseSettingsWidget</name>
    <message>
        <location filename="../../mbfcare/ui/database_page.py" line="+1"/>
        <source>Cơ sở dữ liệu</source>
        <translation>Database</translation>
    </message>
    <message>
        <source>Dữ liệu lưu tại:</source>
        <translation>Data kept in:</translation>
    </message>
    <message>
        <source>Sao lưu tự động</source>
        <translation>Automatic backups</translation>
    </message>
    <message>
        <source>Chương trình sao lưu khi mở, khi đóng, trước khi nâng cấp, trước mỗi lần nhập dữ liệu và trong lúc làm việc nếu dữ liệu thay đổi; mỗi bản được kiểm tra toàn vẹn trước khi giữ. Giữ mọi bản của hôm nay và hôm qua, rồi mỗi ngày, mỗi tuần, mỗi tháng một bản.</source>
        <translation>The program backs up when it opens, when it closes, before an upgrade, before every import and, while you work, whenever the data changed; each copy passes an integrity check before it is kept. Every backup of today and yesterday is kept, then one per day, per week and per month.</translation>
    </message>
    <message>
        <source>Chọn…</source>
        <translation>Choose…</translation>
    </message>
    <message>
        <source>Thư mục sao lưu:</source>
        <translation>Backup folder:</translation>
    </message>
    <message>
        <source> ngày</source>
        <translation> days</translation>
    </message>
    <message>
        <source> tuần</source>
        <translation> weeks</translation>
    </message>
    <message>
        <source> tháng</source>
        <translation> months</translation>
    </message>
    <message>
        <source> phút</source>
        <translation> minutes</translation>
    </message>
    <message>
        <source>Giữ mỗi ngày một bản, trong:</source>
        <translation>Keep one a day, for:</translation>
    </message>
    <message>
        <source>Rồi mỗi tuần một bản, trong:</source>
        <translation>Then one a week, for:</translation>
    </message>
    <message>
        <source>Rồi mỗi tháng một bản, trong:</source>
        <translation>Then one a month, for:</translation>
    </message>
    <message>
        <source>Khi có thay đổi, sao lưu ít nhất mỗi:</source>
        <translation>When data changed, back up at least every:</translation>
    </message>
    <message>
        <source>Lưu cài đặt sao lưu</source>
        <translation>Save backup settings</translation>
    </message>
    <message>
        <source>Các bản sao lưu</source>
        <translation>Backups</translation>
    </message>
    <message>
        <source>Làm mới</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <source>Sao lưu ngay</source>
        <translation>Back up now</translation>
    </message>
    <message>
        <source>Khôi phục…</source>
        <translation>Restore…</translation>
    </message>
    <message>
        <source>Chỉ quản trị được khôi phục và đổi cài đặt sao lưu.</source>
        <translation>Only an administrator may restore or change the backup settings.</translation>
    </message>
    <message>
        <source>Thư mục sao lưu</source>
        <translation>Backup folder</translation>
    </message>
    <message>
        <source>Đã lưu cài đặt sao lưu.</source>
        <translation>Backup settings saved.</translation>
    </message>
    <message>
        <source>Đang sao lưu…</source>
        <translation>Backing up…</translation>
    </message>
    <message>
        <source>Đang khôi phục…</source>
        <translation>Restoring…</translation>
    </message>
    <message>
        <source>Tệp SQLite trên máy này. Không đặt tệp trong thư mục chia sẻ qua mạng, ổ mạng hay thư mục đồng bộ (OneDrive, Google Drive, Dropbox…): hai máy cùng ghi có thể làm hỏng tệp. Nhiều máy dùng chung thì dùng máy chủ PostgreSQL.</source>
        <translation>An SQLite file on this PC. Do not put it in a network share, on a network drive or in a synced folder (OneDrive, Google Drive, Dropbox…): two PCs writing at once can damage it. For several PCs, use a PostgreSQL server.</translation>
    </message>
    <message>
        <source>Cơ sở dữ liệu PostgreSQL do máy chủ sao lưu (pg_dump theo lịch của quản trị, khôi phục bằng pg_restore trên máy chủ); chương trình không tự sao lưu nó.</source>
        <translation>A PostgreSQL database is backed up by its server (pg_dump on the administrator&apos;s schedule, restored with pg_restore on the server); the program does not back it up itself.</translation>
    </message>
    <message>
        <source>Chọn thư mục sao lưu.</source>
        <translation>Choose a backup folder.</translation>
    </message>
    <message>
        <source>Đã sao lưu và kiểm tra toàn vẹn: {file}.</source>
        <translation>Backed up and checked: {file}.</translation>
    </message>
    <message>
        <source>Khôi phục bản sao lưu lúc {time} ngày {date}?</source>
        <translation>Restore the backup of {date} at {time}?</translation>
    </message>
    <message>
        <source>Dữ liệu hiện tại được sao lưu trước (loại &quot;Trước khi khôi phục&quot;). Công việc ghi sau {time} ngày {date} sẽ không còn trong cơ sở dữ liệu. Các máy khác phải đóng chương trình; cửa sổ này sẽ mở lại trên dữ liệu đã khôi phục.</source>
        <translation>The current data is backed up first (kind &quot;Before a restore&quot;). Work recorded after {time} on {date} will no longer be in the database. Other PCs must close the program; this window reopens on the restored data.</translation>
    </message>
    <message>
        <source>Đã khôi phục bản sao lưu lúc {time} ngày {date}.</source>
        <translation>Restored the backup of {date} at {time}.</translation>
    </message>
    <message>
        <source>Chưa có bản sao lưu nào trong {folder}.</source>
        <translation>No backup yet in {folder}.</translation>
    </message>
    <message>
        <source>{count} bản trong {folder}; mới nhất lúc {time} ngày {date}.</source>
        <translation>{count} backups in {folder}; the newest from {date} at {time}.</translation>
    </message>
    <message>
        <source>Không dùng được thư mục {folder} ({reason}).</source>
        <translation>The folder {folder} cannot be used ({reason}).</translation>
    </message>
</context>
<context>
    <name>BackupTableModel</name>
    <message>
        <location filename="../../mbfcare/ui/tablemodels/backups.py" line="+1"/>
        <source>Tự động</source>
        <translation>Automatic</translation>
    </message>
    <message>
        <source>Sao lưu ngay</source>
        <translation>Back up now</translation>
    </message>
    <message>
        <source>Trước khi nâng cấp</source>
        <translation>Before an upgrade</translation>
    </message>
    <message>
        <source>Trước khi nhập dữ liệu</source>
        <translation>Before an import</translation>
    </message>
    <message>
        <source>Trước khi khôi phục</source>
        <translation>Before a restore</translation>
    </message>
    <message>
        <source>Ngày giờ</source>
        <translation>Date and time</translation>
    </message>
    <message>
        <source>Loại</source>
        <translation>Kind</translation>
    </message>
    <message>
        <source>Dung lượng</source>
        <translation>Size</translation>
    </message>
    <message>
        <source>Tệp</source>
        <translation>File</translation>
    </message>
</context>
<context>
    <name>Recovery</name>
    <message>
        <location filename="../../mbfcare/ui/recovery.py" line="+1"/>
        <source>Tệp cơ sở dữ liệu bị hỏng nên đã được cất sang {damaged}; đã khôi phục bản sao lưu lúc {time} ngày {date}. Công việc ghi sau giờ đó cần nhập lại.</source>
        <translation>The database file was damaged, so it was moved to {damaged}; the backup of {date} at {time} has been restored. Work recorded after that time must be entered again.</translation>
    </message>
    <message>
        <source>Đã khôi phục cơ sở dữ liệu</source>
        <translation>Database restored</translation>
    </message>
    <message>
        <source>Tệp cơ sở dữ liệu {file} bị hỏng và không có bản sao lưu nào dùng được để khôi phục. Đừng xóa hay ghi đè tệp này; hãy gọi bộ phận hỗ trợ (IT) để cứu dữ liệu.</source>
        <translation>The database file {file} is damaged and no usable backup exists to restore. Do not delete or overwrite this file; call IT support to rescue the data.</translation>
    </message>
    <message>
        <source>Không mở được cơ sở dữ liệu</source>
        <translation>Cannot open the database</translation>
    </message>
    <message>
        <source>Cơ sở dữ liệu bị hỏng</source>
        <translation>Damaged database</translation>
    </message>
    <message>
        <source>Chưa sao lưu được</source>
        <translation>Backup failed</translation>
    </message>
    <message>
        <source>Chưa sao lưu được cơ sở dữ liệu khi mở chương trình: {reason}</source>
        <translation>The database could not be backed up when the program opened: {reason}</translation>
    </message>
</context>
</TS>
