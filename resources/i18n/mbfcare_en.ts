<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US" sourcelanguage="vi_VN">
<context>
    <name></name>
    <message>
        <location filename="../../mbfcare/ui/tablemodels/care_list.py" line="+321"/>
        <source>Thứ tự chờ: {rank}.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>App</name>
    <message>
        <location filename="../../mbfcare/ui/app.py" line="+57"/>
        <source>Không mở được cơ sở dữ liệu</source>
        <translation>Cannot open the database</translation>
    </message>
</context>
<context>
    <name>CareListWidget</name>
    <message>
        <location filename="../../mbfcare/ui/care_list.py" line="+84"/>
        <source>Số thuê bao hoặc tên, không dấu cũng được</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Xuất Excel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xuất danh sách đang xem ra tệp Excel (Ctrl+E)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Chọn một khách hàng để xem chi tiết.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Đợt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nhóm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hình thức</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Quận/Huyện</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cửa hàng</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Trạng thái</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Tìm:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+157"/>
        <location line="+9"/>
        <source>Tất cả</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+14"/>
        <location line="+27"/>
        <source>Nhóm {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="-26"/>
        <source>Chờ quyết định</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+10"/>
        <source>{count} KH</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+17"/>
        <source>chưa có nhóm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Đợt {n} ({month})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>kích hoạt {date}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{years} năm sử dụng ({band})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Người phụ trách: {who}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+11"/>
        <source>SMS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Chuẩn hóa thông tin</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Trao quà</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Tư vấn gói cước</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giải đáp thắc mắc</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Khảo sát</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Nhập lần đầu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cập nhật</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xếp danh sách</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Quyết định nhóm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+7"/>
        <source>quy định phiên bản {v}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+67"/>
        <source>Xuất danh sách ra Excel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tệp Excel (*.xlsx)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Đã xuất {rows} KH ra tệp {file}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ClassifyDialog</name>
    <message>
        <location filename="../../mbfcare/ui/classify_dialog.py" line="+58"/>
        <source>Xếp danh sách đợt {batch}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Tháng chăm sóc:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>không giới hạn</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Số quà loại {n} dự kiến:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Bấm «Xem trước» để xem số lượng trước khi lưu.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Kết quả</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Số KH</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Xem trước</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Xếp danh sách</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Đóng</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Đang tính…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Xếp lại đợt {batch} sẽ thêm {added} KH, giữ nguyên {kept} KH đã có trong danh sách.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Lưu danh sách đợt {batch}: {added} KH.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Xếp danh sách đợt {batch}?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Nhóm {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chờ quyết định nhóm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Danh sách chờ (thiếu quà)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Không đủ điều kiện – {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Đợt {batch}, tháng chăm sóc {month}; chu kỳ căn cứ {cycles}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Đã xếp đợt {batch}: thêm {added} KH, {gap} KH chờ quyết định nhóm.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CrashDialog</name>
    <message>
        <location filename="../../mbfcare/ui/crash_dialog.py" line="+31"/>
        <source>MBF Care gặp lỗi không mong đợi</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Thao tác vừa rồi không hoàn thành và không có dữ liệu nào bị ghi dở. Hãy thử lại; nếu lỗi lặp lại, gửi nội dung dưới đây cho bộ phận IT.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Nhật ký: {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Sao chép</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DashboardWidget</name>
    <message>
        <location filename="../../mbfcare/ui/dashboard.py" line="+122"/>
        <source>Trong danh sách</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Danh sách chờ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chờ quyết định nhóm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đã có thao tác</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đã trao quà</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>KH chờ quyết định nhóm (mức cước nằm giữa hai nhóm)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>KH trong danh sách chờ (vượt số quà dự kiến)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>KH cần chuẩn hóa thông tin (thu thập phiếu thông tin khi gặp KH)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Tổng quan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Làm mới</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đọc lại số liệu (F5)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Cần làm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Theo đợt và nhóm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Theo quận/huyện</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Trao quà theo ngày</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Chưa có lượt trao quà nào được ghi nhận.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+39"/>
        <source>Đang tải…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+30"/>
        <source>Không đọc được số liệu.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+11"/>
        <source>· cả chương trình</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>· đợt {batch}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Chưa có chương trình chăm sóc nào. Tạo chương trình và nhập dữ liệu thuê bao, số liệu sẽ hiện ở đây.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Chương trình chưa có danh sách chăm sóc. Nhập dữ liệu thuê bao rồi xếp đợt, số liệu sẽ hiện ở đây.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Đợt {batch} chưa có danh sách chăm sóc. Nhập dữ liệu thuê bao rồi xếp đợt, số liệu sẽ hiện ở đây.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Không còn việc nào cần làm.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Đợt {batch} · Chưa xếp nhóm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đợt {batch} · Nhóm {group}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+39"/>
        <source>(Chưa rõ)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Bấm vào một cột để mở danh sách chăm sóc của quận/huyện đó.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Số KH được trao quà trong ngày</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>FileDropZone</name>
    <message>
        <location filename="../../mbfcare/ui/import_wizard.py" line="+249"/>
        <source>Kéo tệp Excel (.xlsx, .xlsm, .xls) hoặc CSV thả vào đây</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>GapDecisionDialog</name>
    <message>
        <location filename="../../mbfcare/ui/classify_dialog.py" line="+44"/>
        <source>Quyết định nhóm cho KH ngoài các nhóm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Mức cước căn cứ của các KH dưới đây không thuộc nhóm nào theo quy định. Chọn nhóm hoặc «Không chọn» cho từng KH và ghi lý do.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Số thuê bao</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Họ tên</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Quận/Huyện</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cước 3 chu kỳ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Mức căn cứ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Quyết định</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+6"/>
        <source>ví dụ: Giám đốc duyệt ngày 05/09/2017</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lý do:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Lưu quyết định</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Đóng</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+20"/>
        <source>— chưa quyết định —</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Nhóm 1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nhóm 2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Không chọn</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Chưa chọn quyết định cho KH nào.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Cần ghi lý do của quyết định.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Đã lưu {n} quyết định nhóm.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImportWizardWidget</name>
    <message>
        <location filename="../../mbfcare/ui/import_wizard.py" line="+102"/>
        <source>Đang đọc {name}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+23"/>
        <source>1 Chọn tệp</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>2 Sheet &amp; dòng tiêu đề</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>3 Ghép cột</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>4 Kiểm tra</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>5 Nhập</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>6 Kết quả</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Quay lại (Esc)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+161"/>
        <source>Tiếp tục (Enter)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="-151"/>
        <source>Chọn tệp…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chọn tệp danh sách thuê bao (Excel hoặc CSV)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Tệp gần đây (Enter để mở tệp đang chọn):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Sheet:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>(chưa chọn)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Dùng dòng đang chọn làm tiêu đề</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Dòng tiêu đề:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+20"/>
        <location line="+327"/>
        <source>Không gắn đợt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="-325"/>
        <source>Đợt:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>MM/YYYY, ví dụ 09/2017</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Tháng chăm sóc:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+28"/>
        <source>Lý do từ chối:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+7"/>
        <source>Lý do</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="-7"/>
        <source>Số dòng</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Các dòng bị từ chối đầu tiên:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Dòng</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Hủy (Esc)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dừng và hoàn tác: không có gì được lưu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Mở tệp dòng bị từ chối</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Xếp danh sách đợt…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Nhập tệp khác</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Kiểm tra (Enter)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+1"/>
        <source>Nhập (Enter)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Nhập tệp khác (Enter)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+107"/>
        <source>Chọn tệp danh sách thuê bao</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bảng tính và CSV (*.xlsx *.xlsm *.xls *.csv);;Mọi tệp (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Không đọc được tệp.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+12"/>
        <source>(tệp CSV)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{name} — {rows} dòng</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+18"/>
        <source>⚠ Không tìm thấy dòng tiêu đề có cột số thuê bao. Chọn dòng tiêu đề trong bảng dưới rồi bấm &quot;Dùng dòng đang chọn làm tiêu đề&quot;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Dòng tiêu đề tìm thấy: dòng {row} (tô màu, đánh dấu ▶).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Dòng tiêu đề do bạn chọn: dòng {row} (tô màu, đánh dấu ▶).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+56"/>
        <source>Đợt {n} – {month}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+42"/>
        <source>Trường</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cột trong tệp</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Kiểm tra</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Giá trị mẫu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Đã dùng cách ghép cột lưu lần trước cho tệp có cùng dòng tiêu đề.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Cước: {header}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>(không dùng)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{letter} (không có tiêu đề)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+41"/>
        <source>⚠ Bắt buộc – chưa ghép cột</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>— không dùng</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>⚠ Cột này đã ghép cho trường khác</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>✓ chu kỳ {month}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>⚠ Cần tháng chăm sóc</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>✓</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Tháng chăm sóc của đợt {n} sẽ đổi từ {old} thành {new}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Tháng chăm sóc viết dạng MM/YYYY, ví dụ 09/2017.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Chưa chọn dòng tiêu đề.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Chưa ghép cột cho: {fields}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Tệp chưa có cột cước nào (ví dụ &apos;Cước T-3&apos; hoặc &apos;Cước 06/2017&apos;).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Có cột được ghép cho hai trường; mỗi cột chỉ ghép một trường.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Tháng chăm sóc &apos;{text}&apos; không hợp lệ: viết MM/YYYY.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Các cột cước tính theo tháng chăm sóc: chọn đợt hoặc nhập tháng chăm sóc.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Đang kiểm tra tệp (chưa lưu gì)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Dòng dữ liệu: {rows}
Mới: {new}
Cập nhật: {updated}
Không đổi: {unchanged}
Bị từ chối: {rejected} (trong đó trùng số thuê bao: {duplicates})
Chu kỳ cước: {cycles}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Kết quả kiểm tra (chưa lưu gì):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Thiếu số thuê bao</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Số thuê bao không hợp lệ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Thiếu loại thuê bao (trả trước/trả sau)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Loại thuê bao không rõ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Thiếu trạng thái thuê bao</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Trạng thái không rõ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cước không đọc được</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ngày không đọc được</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Giá trị Có/Không không rõ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Không nhận ra tỉnh/thành phố</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Trùng số thuê bao (giữ dòng sau)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Đang nhập {name}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+20"/>
        <source>{done} / {total} dòng · {rate} dòng/giây</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Đang hủy và hoàn tác…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Đã nhập xong {name}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Xếp danh sách đợt {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Xếp danh sách đợt… (chưa chọn đợt)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Đã nhập {count} thuê bao, từ chối {rejected} dòng</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="+229"/>
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
        <location line="+15"/>
        <source>&amp;Giới thiệu</source>
        <translation>&amp;About</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>&amp;Tệp</source>
        <translation>&amp;File</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Trợ &amp;giúp</source>
        <translation>&amp;Help</translation>
    </message>
    <message>
        <location line="-168"/>
        <source>Đang đọc dữ liệu…</source>
        <translation>Reading data…</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>▣  Tổng quan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>⇪  Nhập dữ liệu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>☰  Danh sách chăm sóc</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>⚙  Cài đặt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+45"/>
        <source>Chào mừng đến với MBF Care</source>
        <translation>Welcome to MBF Care</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Tạo chương trình theo văn bản (CSKH 2017 – KV5)</source>
        <translation>Create the programme from the document (CSKH 2017 – Region 5)</translation>
    </message>
    <message>
        <location line="+133"/>
        <source>Chưa có chương trình</source>
        <translation>No programme yet</translation>
    </message>
    <message>
        <location line="+54"/>
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
        <location line="-230"/>
        <source>Cơ sở dữ liệu chưa có chương trình chăm sóc khách hàng nào.
Tạo chương trình theo văn bản CSKH 2017 của MobiFone KV5 (2 nhóm, 4 đợt) để bắt đầu, hoặc mở một cơ sở dữ liệu đã có.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Dữ liệu được lưu tại: {db}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Mở cơ sở dữ liệu khác…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Kết nối máy chủ…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+25"/>
        <source>&amp;Mở cơ sở dữ liệu khác…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Kết nối máy chủ…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Xuất gửi KV5…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Tệp Excel gửi MobiFone KV5</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Nhập danh sách thuê bao…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Xếp danh sách đợt…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Quyết định nhóm…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+22"/>
        <source>&amp;Chương trình</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Dữ liệu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Xem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Chương trình và đợt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source> Chương trình: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>  Đợt: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+79"/>
        <location line="+17"/>
        <source>Đợt {number} ({month})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Chương trình:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+22"/>
        <source>mỗi chu kỳ cước n-3, n-4, n-5 đều đạt ngưỡng (lấy mức thấp nhất)</source>
        <translation>each billing cycle n-3, n-4, n-5 meets the bound (the lowest counts)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>bình quân các chu kỳ cước n-3, n-4, n-5 (làm tròn xuống)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+74"/>
        <source>Đã nhập {imported} thuê bao mới, cập nhật {updated}, từ chối {rejected} dòng.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Mở cơ sở dữ liệu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cơ sở dữ liệu MBF Care (*.sqlite *.db)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Kết nối máy chủ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Địa chỉ máy chủ PostgreSQL, ví dụ
postgresql+psycopg://nguoidung:matkhau@192.168.1.10/mbfcare</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Xuất tệp gửi MobiFone KV5</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tệp Excel (*.xlsx)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Đã xuất {file} ({rows} dòng chi tiết).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Đang xử lý…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+7"/>
        <source>MBF Care {version}

Quản lý chương trình chăm sóc khách hàng và trao quà tặng của MobiFone (Khu vực 5).

Cơ sở dữ liệu: {db}
Thư mục dữ liệu: {home}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="-59"/>
        <source>Đã tạo chương trình số {id}.</source>
        <translation>Programme {id} created.</translation>
    </message>
    <message>
        <location line="+58"/>
        <source>Giới thiệu MBF Care</source>
        <translation>About MBF Care</translation>
    </message>
</context>
<context>
    <name>NumberLink</name>
    <message>
        <location filename="../../mbfcare/ui/dashboard.py" line="-339"/>
        <source>Mở danh sách chăm sóc: {what}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PreviewTableModel</name>
    <message>
        <location filename="../../mbfcare/ui/import_wizard.py" line="-843"/>
        <source>{letter} (ẩn)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsWidget</name>
    <message>
        <location filename="../../mbfcare/ui/settings_page.py" line="+185"/>
        <source>Chương trình</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ngôn ngữ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Chưa có chương trình để cài đặt.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Đang đọc chương trình…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+59"/>
        <source>Hoàn tác</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bỏ các sửa đổi chưa lưu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Lưu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Lưu chương trình (Ctrl+S)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Thông tin chung</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Tên chương trình:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Năm:</source>
        <translation type="unfinished">Year:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Khu vực:</source>
        <translation type="unfinished">Region:</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Mức cước căn cứ (chu kỳ n-3, n-4, n-5)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Mỗi chu kỳ đều đạt (mặc định)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bình quân 3 chu kỳ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Năm sử dụng</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Các mốc (năm), cách nhau bằng dấu phẩy:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+12"/>
        <location line="+4"/>
        <source>Nhóm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+49"/>
        <source>Tên</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="-49"/>
        <source>Cận dưới</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cận trên</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cách trao quà</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Quà</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Thêm nhóm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Bỏ nhóm đang chọn</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Đợt và tháng chăm sóc</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Thêm đợt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Bỏ đợt đang chọn</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Quà tặng</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Loại quà / mã</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Thêm loại quà</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Thêm món quà</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Bỏ</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Địa bàn</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Lọc tỉnh/thành…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Lịch sử thay đổi</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Lúc</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Người sửa</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phiên bản quy tắc</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Thay đổi</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Ngôn ngữ giao diện</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Chưa có danh sách chăm sóc nào: sửa thoải mái.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>🔒 Đã có {count} KH trong danh sách đợt {batches} (đã chốt).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+14"/>
        <location line="+66"/>
        <location line="+296"/>
        <location line="+41"/>
        <source>Quà loại {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="-378"/>
        <source>không có</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+1"/>
        <source>tính cả</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+9"/>
        <source>MBF đến tặng</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>KH đến cửa hàng nhận</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Để trống (bấm xuống hết cỡ): không có cận dưới</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Để trống (bấm xuống hết cỡ): không có cận trên</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Loại {n} – {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Loại {n} (không còn)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Đợt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Tháng chăm sóc</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Loại {n} (dự kiến)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+9"/>
        <source>MM/YYYY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Tháng chăm sóc n, viết MM/YYYY; mức cước căn cứ là các chu kỳ n-3, n-4, n-5</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+6"/>
        <source>không giới hạn</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Số quà dự kiến cho đợt; quá số này KH chờ theo thứ tự</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+48"/>
        <source>(không rõ)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Chưa có thay đổi nào.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Chưa có chương trình.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Năm sử dụng: chỉ ghi số năm, cách nhau bằng dấu phẩy (ví dụ 0, 2, 5, 10).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Đợt {n}: tháng chăm sóc phải viết MM/YYYY, ví dụ 09/2017.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+27"/>
        <source>⚠ Chưa có nhóm nào: không ai được xếp nhóm.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+7"/>
        <source>✓ Các nhóm liền nhau, không chồng lấn</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+5"/>
        <source>✗ Tháng chăm sóc của đợt {batches} phải viết MM/YYYY.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Đã chọn {n} tỉnh/thành</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+13"/>
        <source>⚠ Nhóm {n} không chứa mức cước nào</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>⚠ {amount} không thuộc nhóm nào</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>⚠ Từ {low} đến {high} không thuộc nhóm nào</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+4"/>
        <source>từ {low} trở lên</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>đúng {amount}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>từ {low} đến {high}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>⚠ Nhóm {a} và Nhóm {b} chồng lấn: cả hai chứa mức {where}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+13"/>
        <source>từ {low} năm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>dưới {high} năm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{low}–{high} năm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Có sửa đổi chưa lưu.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Đã lưu.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+35"/>
        <source>Nhóm {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+126"/>
        <source>Đang lưu…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Chưa lưu: đã hủy.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Đã lưu chương trình ({n} thay đổi, phiên bản quy tắc {v}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Không có gì thay đổi.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Đã lưu. Một số chữ đổi hẳn khi mở lại chương trình.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
